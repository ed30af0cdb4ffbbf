/**
 * kill -9 of `tsbuild build` at random points of each phase (base-image pull from a local registry, RUN, layer
 * commit, export, push). After every kill: no sandboxed process of the killed build survives, the store has no
 * partial or corrupt blob and no dangling reference; the next build succeeds, every step the killed build finished
 * is reused (CACHED or skipped, never run again), and `tsbuild doctor` finds the root consistent.
 */
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { copyFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { busyboxRootfsTar } from "../helpers/base-images.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import {
  doctor, eventually, processesMatching, rawEvents, requireBundle, sandboxesUnder, startTsbuild, stepNames, tempDir, tsbuild, type CliResult,
} from "../helpers/cli-e2e.js";

type Phase = "pull" | "run" | "commit" | "export" | "push";

/** When to kill, per phase: the rawjson line that opens the phase, and a random delay range after it (ms). */
const TRIGGERS: Readonly<Record<Phase, { re: RegExp; delay: [number, number] }>> = {
  pull: { re: /"vertex\.started"[^\n]*"name":"\[1\/4\] FROM/, delay: [0, 250] },
  run: { re: /"vertex\.started"[^\n]*"name":"\[2\/4\] RUN/, delay: [0, 250] },
  // The RUN sleeps 0.3 s, then writes 2 MB: the kill lands while the process ends or its snapshot is committed.
  commit: { re: /"vertex\.started"[^\n]*"name":"\[2\/4\] RUN/, delay: [300, 450] },
  export: { re: /"vertex\.started"[^\n]*"name":"exporting to image"/, delay: [0, 350] },
  push: { re: /"id":"pushing /, delay: [0, 30] },
};

const PLAN: readonly Phase[] = ["pull", "run", "commit", "export", "push", "pull", "run", "commit", "export", "push", "export", "run"];

let tmp: string;
let registry: TestRegistry;
let ctx: string;
let mark: string;

const rand = ([lo, hi]: [number, number]): number => lo + Math.floor(Math.random() * (hi - lo + 1));

beforeAll(async () => {
  requireBundle();
  tmp = await tempDir("crash");
  registry = await startRegistry();
  // A base image with a 12 MB layer, so that pulling and unpacking it take long enough to be interrupted.
  const base = join(tmp, "base.tar");
  copyFileSync(await busyboxRootfsTar(), base);
  await mkdir(join(tmp, "big"));
  await writeFile(join(tmp, "big", "big.bin"), randomBytes(12 << 20));
  execFileSync("tar", ["--numeric-owner", "--owner=0", "--group=0", "--mtime=@0", "-C", join(tmp, "big"), "-rf", base, "big.bin"]);
  const seed = join(tmp, "seed");
  const ref = `${registry.host}/crash/base:1`;
  for (const args of [["import", base, ref, "--root", seed], ["push", ref, "--root", seed]]) {
    const r = tsbuild(args);
    if (r.status !== 0) throw new Error(`tsbuild ${args[0]} failed: ${r.stderr}`);
  }
  mark = `crashmark${randomBytes(4).toString("hex")}`;
  ctx = join(tmp, "ctx");
  await mkdir(ctx);
  await writeFile(join(ctx, "ctx.txt"), "context file\n");
  await writeFile(
    join(ctx, "Dockerfile"),
    `FROM ${ref}\nARG N\nRUN : ${mark} && echo "$N" > /n && sleep 0.3 && head -c 2000000 /dev/urandom > /r1\n` +
      `COPY ctx.txt /ctx.txt\nRUN : ${mark} && sleep 0.2 && head -c 3000000 /dev/urandom > /r2 && cat /n /ctx.txt > /both\n`,
  );
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function buildArgs(root: string, n: number): string[] {
  return ["build", "--progress=rawjson", "--build-arg", `N=${n}`, "--push", "-t", `${registry.host}/crash/out:${n}`, "--root", root, ctx];
}

/** Start a build, kill it with SIGKILL at a random point of `phase`; returns its result. */
async function killedBuild(root: string, n: number, phase: Phase): Promise<CliResult> {
  const b = startTsbuild(buildArgs(root, n));
  const t = TRIGGERS[phase];
  try {
    await b.waitFor(t.re);
    await new Promise((r) => setTimeout(r, rand(t.delay)));
    b.child.kill("SIGKILL");
  } catch {
    // finished (or failed) before the trigger: reported through the result
  }
  return b.done;
}

/** What must hold right after a kill, before anything reaps: nothing runs, nothing is corrupt or dangling. */
async function checkAfterKill(root: string, phase: Phase): Promise<void> {
  const gone = await eventually(() => sandboxesUnder(root).length === 0 && processesMatching(mark).length === 0, 3000);
  expect({ phase, sandboxes: sandboxesUnder(root), processes: processesMatching(mark) }).toEqual({ phase, sandboxes: [], processes: [] });
  expect(gone).toBe(true);
  const d = doctor(root).report;
  expect({ phase, corrupt: d.store.corrupt, dangling: d.store.dangling, cache: [...d.cache.dangling, ...d.cache.corrupt], mounts: d.files.mounts })
    .toEqual({ phase, corrupt: [], dangling: [], cache: [], mounts: [] });
}

describe("kill -9 during a build", () => {
  it("leaves a root that the next build reuses and doctor finds consistent", async () => {
    const main = join(tmp, "root");
    let n = 0;
    let killed = 0;
    for (const phase of PLAN) {
      n++;
      // Pull kills need a root without the base image; the other phases reuse one root (a new N misses the RUNs).
      const root = phase === "pull" ? join(tmp, `root-pull-${n}`) : main;
      const k = await killedBuild(root, n, phase);
      if (k.signal === "SIGKILL") killed++;
      await checkAfterKill(root, phase);

      const next = tsbuild(buildArgs(root, n));
      if (next.status !== 0) throw new Error(`build after a kill during ${phase} failed (${next.status}):\n${next.stderr.slice(-4000)}`);
      const finished = stepNames(rawEvents(k.stderr), "vertex.done");
      const rerun = [...stepNames(rawEvents(next.stderr), "vertex.started")].filter((s) => finished.has(s));
      expect({ phase, rerun }).toEqual({ phase, rerun: [] });
      const d = doctor(root);
      if (!d.ok) throw new Error(`doctor after a kill during ${phase} and a rebuild:\n${d.raw.stdout}${d.raw.stderr}`);
      expect(sandboxesUnder(root)).toEqual([]);
    }
    // Most kills must have hit a running build (a phase can end before its random delay, rarely).
    expect(killed).toBeGreaterThanOrEqual(PLAN.length - 3);
  }, 240_000);
});

