/**
 * Several processes on one snapshot root: concurrent prepare/commit/remove, one winner per committed name, and
 * kill -9 at random moments (mid-commit included) leaving a consistent db whose garbage is reaped.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { build } from "esbuild";
import { requireSession } from "../../helpers/session.js";
import { createSnapshotter, type Snapshotter } from "../../../src/snapshot/index.js";
import { sh, tmp } from "./tree.js";

requireSession();

const work = tmp("tsb-multi-");
const worker = join(work, "worker.mjs");
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  // Bundle the worker with its packages imported by absolute path, so it runs from a temp dir with plain node.
  await build({
    entryPoints: [join(import.meta.dirname, "multiproc-worker.ts")], bundle: true, format: "esm", platform: "node",
    target: "node20", outfile: worker, logLevel: "error",
    plugins: [{
      name: "absolute-externals",
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, async (args) => {
          if (isBuiltin(args.path) || (args.pluginData as { inner?: boolean } | undefined)?.inner) return undefined;
          const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: { inner: true } });
          return { path: r.path, external: true };
        });
      },
    }],
  });
}, 60_000);

function start(root: string, driver: string, id: string, mode: string, rounds = 0): ChildProcess & { out: Promise<string>; code: Promise<number | null> } {
  const child = spawn(process.execPath, [worker, root, driver, id, mode, String(rounds)], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr.on("data", (b: Buffer) => (err += b.toString()));
  const code = new Promise<number | null>((resolve) => child.on("close", (c) => {
    if (c !== 0 && c !== null) process.stderr.write(`worker ${id} (${mode}) exited ${c}: ${err}\n`);
    resolve(c);
  }));
  return Object.assign(child, { out: code.then(() => out), code });
}

async function waitFor(child: ChildProcess, line: string): Promise<void> {
  let seen = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (b: Buffer) => {
      seen += b.toString();
      if (seen.includes(`${line}\n`)) resolve();
    });
    child.on("close", () => reject(new Error(`worker exited before printing ${line}`)));
  });
}

interface Rec { id: number; key: string; kind: string; parentId?: number }

/** The db parses, keys are unique, parents exist and are committed, and (quiescent) dirs match records. */
function checkConsistent(root: string): Rec[] {
  const db = JSON.parse(readFileSync(join(root, "snapshots", "db.json"), "utf8")) as { nextId: number; records: Rec[] };
  const byId = new Map(db.records.map((r) => [r.id, r]));
  expect(new Set(db.records.map((r) => r.key)).size).toBe(db.records.length);
  for (const r of db.records) {
    expect(r.id).toBeLessThan(db.nextId);
    if (r.parentId !== undefined) expect(byId.get(r.parentId)?.kind).toBe("committed");
  }
  const dirs = readdirSync(join(root, "snapshots")).filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
  expect(dirs).toEqual([...byId.keys()].sort((a, b) => a - b));
  return db.records;
}

function mountsUnder(root: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "").filter((p) => p.startsWith(`${root}/`));
}

async function withBase(driver: "overlay" | "copy"): Promise<{ root: string; s: Snapshotter }> {
  const root = tmp();
  const s = await createSnapshotter(root, { driver });
  await s.prepare("tmp-base");
  sh("mkdir -p etc; echo base > etc/base", await s.mount("tmp-base"));
  await s.commit("tmp-base", "base");
  return { root, s };
}

describe.each(["overlay", "copy"] as const)("%s driver, four processes on one root", (driver) => {
  it("prepare/commit/remove concurrently; exactly one process wins each name", async () => {
    const { root, s } = await withBase(driver);
    const rounds = driver === "overlay" ? 12 : 6;
    const workers = ["1", "2", "3", "4"].map((id) => start(root, driver, id, "race", rounds));
    expect(await Promise.all(workers.map((w) => w.code))).toEqual([0, 0, 0, 0]);
    const results = (await Promise.all(workers.map((w) => w.out))).map((o) => JSON.parse(o) as { won: string[]; lost: string[] });
    for (let i = 0; i < rounds; i++) {
      const name = `shared-${i}`;
      expect(results.filter((r) => r.won.includes(name))).toHaveLength(1);
      expect(results.filter((r) => r.lost.includes(name))).toHaveLength(3);
    }
    const s2 = await createSnapshotter(root, { driver });
    const keys = (await s2.list()).map((i) => `${i.key}:${i.kind}:${i.parent ?? ""}`).sort();
    expect(keys).toEqual(["base:committed:", ...Array.from({ length: rounds }, (_, i) => `shared-${i}:committed:base`)].sort());
    const d = await s2.diff("shared-3");
    expect(d.entries.map((e) => `${e.kind}:${e.path}`)).toEqual(["entry:f"]);
    expect(readFileSync(join(d.root, "f"), "utf8")).toBe("shared-3\n");
    checkConsistent(root);
    expect(readdirSync(join(root, "snapshots", "trash"))).toEqual([]);
    await s.close();
    await s2.close();
    rmSync(root, { recursive: true, force: true });
  }, 120_000);
});

describe("kill -9 at random moments", () => {
  it("leaves a consistent db; dead processes' snapshots, mounts and scratch are reaped; live ones are kept", async () => {
    const { root, s } = await withBase("overlay");
    const holder = start(root, "overlay", "H", "hold");
    try {
      await killLoops(root, holder);
    } finally {
      holder.kill("SIGKILL");
    }
    await s.close();
    rmSync(root, { recursive: true, force: true });
  }, 120_000);
});

async function killLoops(root: string, holder: ReturnType<typeof start>): Promise<void> {
  await waitFor(holder, "held");
  let reaped = 0;
  for (let k = 0; k < 8; k++) {
    const w = start(root, "overlay", String(k), "loop");
    await waitFor(w, "ready");
    await sleep(20 + Math.floor(Math.random() * 200));
    w.kill("SIGKILL");
    await w.code;
    const before = (JSON.parse(readFileSync(join(root, "snapshots", "db.json"), "utf8")) as { records: Rec[] }).records;
    reaped += before.filter((r) => r.kind === "active" && r.key.startsWith("loop")).length;
    const s2 = await createSnapshotter(root, { driver: "overlay" }); // loading reaps
    const t0 = Date.now();
    await s2.prepare(`probe-${k}`, "base");
    await s2.commit(`probe-${k}`);
    expect(Date.now() - t0).toBeLessThan(5000); // a lock held by the dead process does not block
    const recs = checkConsistent(root);
    expect(recs.filter((r) => r.kind !== "committed").map((r) => r.key)).toEqual(["held-H"]);
    expect(mountsUnder(root).filter((p) => !p.endsWith("/merged") || !recs.some((r) => p.endsWith(`/${r.id}/merged`)))).toEqual([]);
    expect(readdirSync(join(root, "snapshots", "tmp"))).toEqual([]);
    await s2.close();
  }
  // the killed loops did leave active snapshots behind at least once, and each was reaped
  expect(reaped).toBeGreaterThan(0);
  const held = checkConsistent(root).find((r) => r.key === "held-H")!;
  expect(readFileSync(join(root, "snapshots", String(held.id), "fs", "held"), "utf8")).toBe("yes");
  holder.stdin!.end();
  expect(await holder.code).toBe(0);
  const s3 = await createSnapshotter(root, { driver: "overlay" });
  expect((await s3.list()).some((i) => i.key === "held-H")).toBe(false); // its owner exited without removing it
  expect(mountsUnder(root)).toEqual([]);
  checkConsistent(root);
  await s3.close();
}
