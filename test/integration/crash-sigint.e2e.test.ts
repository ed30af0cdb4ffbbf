/**
 * SIGINT (Ctrl-C) while RUN steps keep the sandbox busy (CPU burners, background children, two RUNs in parallel):
 * tsbuild exits within a second, no sandboxed process survives it, and the root is left clean at once (no active
 * snapshot, temp file, lock or mount), without needing a later build to reap anything.
 */
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { doctor, eventually, importBusybox, processesMatching, requireBundle, sandboxesUnder, startTsbuild, tempDir } from "../helpers/cli-e2e.js";

let tmp: string;
let root: string;

beforeAll(async () => {
  requireBundle();
  tmp = await tempDir("sigint");
  root = join(tmp, "root");
  await importBusybox(root);
}, 60_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("SIGINT during a build under load", () => {
  it("stops within a second, kills the sandboxed processes and cleans up", async () => {
    const mark = `sigintmark${randomBytes(4).toString("hex")}`;
    const ctx = join(tmp, "ctx");
    await mkdir(ctx);
    // Two independent stages run in parallel; each RUN burns CPU, leaves children in the background and sleeps.
    const busy = (n: number): string =>
      `RUN : ${mark} && (yes > /dev/null &) && (sh -c 'sleep 300' &) && head -c 1000000 /dev/urandom > /f${n} && sleep 300`;
    await writeFile(join(ctx, "Dockerfile"), `FROM busybox AS one\n${busy(1)}\nFROM busybox AS two\n${busy(2)}\nFROM busybox\nCOPY --from=one /f1 /\nCOPY --from=two /f2 /\n`);
    const b = startTsbuild(["build", "--progress=rawjson", "--root", root, ctx]);
    await b.waitFor(/"vertex\.started"[^\n]*RUN/);
    // Let both RUNs get going (the burners start, the sandboxes are populated).
    expect(await eventually(() => processesMatching(mark).length >= 2, 5000)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    b.child.kill("SIGINT");
    const r = await b.done;
    const elapsed = Date.now() - t0;
    expect(r.status).not.toBe(0);
    expect(elapsed).toBeLessThan(1000);
    // Nothing of the build may outlive it: not the RUN shells, their background children or the CPU burners.
    expect(await eventually(() => processesMatching(mark).length === 0 && sandboxesUnder(root).length === 0, 500)).toBe(true);
    const d = doctor(root);
    if (!d.ok) throw new Error(`doctor right after SIGINT:\n${d.raw.stdout}${d.raw.stderr}`);
  }, 60_000);
});
