/**
 * Test helpers for code that must run as session root (real root, or uid 0 of a tsbuild user namespace session).
 * `npm test` runs `*.sandbox.test.ts` as real root and, rootless, as tsbuild-test inside `tsbuild unshare`.
 */
import { currentSession, type Session } from "../../src/executor/index.js";

/**
 * Return the session this test process runs in, or throw an error that says how to run it. Call it at the top of
 * every `*.sandbox.test.ts` (in a `beforeAll` or at module level) so that a misconfigured run fails, never skips.
 */
export function requireSession(): Session {
  const s = currentSession();
  if (s) return s;
  throw new Error(
    `this sandbox test must run as session root, but runs as uid ${process.getuid?.()} outside any tsbuild session.\n` +
      `Run it through 'npm test' (which uses 'tsbuild unshare' for the rootless pass), as root, or as\n` +
      `  node bin/tsbuild.js unshare -- env NODE_OPTIONS=--experimental-vm-modules npx jest <file>`,
  );
}

/** True when the test runs rootless (uid 0 of a user namespace, not real root). */
export function isRootless(): boolean {
  return requireSession().kind === "userns";
}
