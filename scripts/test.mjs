#!/usr/bin/env node
// `npm test`: type-check, bundle, run the whole jest suite, then, when running as root, run the sandbox tests
// (`*.sandbox.test.ts`, inside `tsbuild unshare`) and the end-to-end tests (`*.e2e.test.ts`, as the plain user) a
// second time as an unprivileged user with subuid/subgid ranges, so the rootless path is tested for real. Extra arguments are passed to jest (e.g. `npm test -- test/unit/parser`).
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const testUser = process.env.TSBUILD_TEST_USER ?? "tsbuild-test";

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: "inherit", cwd: repo, ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}
// Every jest pass writes its counts to a JSON file; the run ends with one plain `tests: N passed, N failed` line.
const counts = { passed: 0, failed: 0 };
function resultFile(tag) {
  return join(tmpdir(), `tsbuild-jest-${tag}-${process.pid}.json`);
}
function addCounts(file) {
  try {
    const j = JSON.parse(readFileSync(file, "utf8"));
    counts.passed += j.numPassedTests;
    counts.failed += j.numFailedTests;
  } catch {
    // a pass that crashed before writing its results already failed the run
  }
  rmSync(file, { force: true });
}
process.on("exit", () => console.log(`\ntests: ${counts.passed} passed, ${counts.failed} failed`));

function step(name, status) {
  if (status !== 0) {
    console.error(`\nnpm test: ${name} failed (exit ${status})`);
    process.exit(status);
  }
}

// A test that forgets its own TSBUILD_ROOT must never touch the user's real tsbuild root: default it to a scratch
// directory for the whole run (tests still make their own roots).
const scratchRoot = (who) => join(tmpdir(), `tsbuild-test-root-${who}-${process.pid}`);
const jestEnv = {
  ...process.env,
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --experimental-vm-modules`.trim(),
  TSBUILD_ROOT: process.env.TSBUILD_ROOT ?? scratchRoot("root"),
};
const jestBin = join(repo, "node_modules", "jest", "bin", "jest.js");

if (args.length === 0) step("type-check (tsc --noEmit)", run(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", "tsconfig.json"]));
step("bundle", run(process.execPath, [join(repo, "scripts/bundle.mjs")]));
const jestStatus = run(process.execPath, [jestBin, "--maxWorkers=2", "--json", `--outputFile=${resultFile("root")}`, ...args], { env: jestEnv });
addCounts(resultFile("root"));
if (!process.env.TSBUILD_ROOT) rmSync(jestEnv.TSBUILD_ROOT, { recursive: true, force: true });
step("jest", jestStatus);

if (process.getuid?.() === 0 && process.env.TSBUILD_TEST_ROOTLESS !== "0") {
  const id = spawnSync("id", ["-u", testUser], { encoding: "utf8" });
  if (id.status !== 0) {
    console.error(
      `\nnpm test: running as root, but the unprivileged test user '${testUser}' does not exist, so the rootless\n` +
        `sandbox tests cannot run. Create it with 'bash scripts/setup.sh' (or set TSBUILD_TEST_ROOTLESS=0 to skip them).`,
    );
    process.exit(1);
  }
  // The test user may not be able to traverse the checkout's parent directories: run from a readable copy.
  let dir = repo;
  let copy;
  if (spawnSync("runuser", ["-u", testUser, "--", "test", "-r", join(repo, "package.json")]).status !== 0) {
    copy = mkdtempSync(join(tmpdir(), "tsbuild-rootless-"));
    cpSync(repo, copy, { recursive: true, filter: (src) => !src.includes("/.git/") && !src.endsWith("/.git") });
    chmodSync(copy, 0o755);
    dir = copy;
  }
  const home = spawnSync("sh", ["-c", `getent passwd ${testUser} | cut -d: -f6`], { encoding: "utf8" }).stdout.trim();
  const env = [
    `HOME=${home}`,
    `PATH=${process.env.PATH}`,
    `CI=${process.env.CI ?? ""}`,
    `NODE_OPTIONS=--experimental-vm-modules`,
    `TSBUILD_TEST_CACHE=${process.env.TSBUILD_TEST_CACHE ?? ""}`,
    `TSBUILD_ROOT=${scratchRoot(testUser)}`,
  ];
  const jestArgs = (kind) => [process.execPath, join(dir, "node_modules/jest/bin/jest.js"), "--maxWorkers=2",
    "--cacheDirectory", join(tmpdir(), `jest-${testUser}`), "--passWithNoTests", "--json", `--outputFile=${resultFile(kind)}`, ...args, "--testMatch", `**/*.${kind}.test.ts`];
  // In-process sandbox/snapshot tests must be session root, as tsbuild itself is after its re-exec: run jest inside
  // `tsbuild unshare`. In that user namespace the host's root-owned directories show as the overflow uid, which the
  // @swc/core native loader takes for "writable by another user" and refuses every cache dir; it offers an explicit
  // opt-out, used here only, with a private (0700) cache dir of the test user.
  const swcCache = join(home, ".cache", "swc-session");
  run("runuser", ["-u", testUser, "--", "mkdir", "-p", "-m", "700", swcCache]);
  const sessionEnv = [...env, "SWC_NATIVE_BINDING_CACHE_SKIP_SECURITY_CHECK=1", `SWC_NATIVE_BINDING_CACHE=${swcCache}`];
  console.log(`\nnpm test: rootless pass as '${testUser}' inside 'tsbuild unshare' (*.sandbox.test.ts ${args.join(" ")})`);
  let status = run("runuser", ["-u", testUser, "--", "env", ...sessionEnv, process.execPath, join(dir, "bin/tsbuild.js"), "unshare", "--",
    ...jestArgs("sandbox")], { cwd: dir });
  addCounts(resultFile("sandbox"));
  if (status === 0) {
    // End-to-end tests run the CLI as the plain user, so its own re-exec into the session is what gets tested.
    console.log(`\nnpm test: rootless pass as '${testUser}' (*.e2e.test.ts ${args.join(" ")})`);
    status = run("runuser", ["-u", testUser, "--", "env", ...env, ...jestArgs("e2e")], { cwd: dir });
    addCounts(resultFile("e2e"));
  }
  if (copy) rmSync(copy, { recursive: true, force: true });
  rmSync(scratchRoot(testUser), { recursive: true, force: true });
  step(`rootless jest as ${testUser}`, status);
}
