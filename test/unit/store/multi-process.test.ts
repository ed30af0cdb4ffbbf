import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { build } from "esbuild";
import { openContentStore } from "../../../src/store/index.js";
import { importRootfs, openImageStore } from "../../../src/image/index.js";
import { tinyRootfsTar } from "../../helpers/rootfs.js";

let work: string;
let child: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "tsb-mp-"));
  child = join(work, "child.mjs");
  await build({ entryPoints: [join(import.meta.dirname, "store-child.ts")], bundle: true, platform: "node", format: "esm", target: "node20", outfile: child, packages: "external", logLevel: "error" });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawn(process.execPath, [child, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"], cwd: join(import.meta.dirname, "../../..") });
}

describe("store across processes", () => {
  it("kill -9 mid-ingest leaves no blob, and the next process reaps the temp file", async () => {
    const root = join(work, "crash");
    const p = run(["slow-ingest", root]);
    await new Promise<void>((res, rej) => {
      p.stdout!.on("data", (d: Buffer) => d.toString().includes("started") && res());
      p.on("exit", (c) => rej(new Error(`child exited early: ${c}`)));
    });
    expect(readdirSync(join(root, "ingest")).length).toBe(1);
    p.kill("SIGKILL");
    await new Promise((r) => p.on("exit", r));
    expect(readdirSync(join(root, "blobs", "sha256"))).toEqual([]);
    // A new process (simulated by a fresh module instance keyed by a different root path spelling) reaps it.
    const store = await openContentStore(join(root, ".", "..", "crash") + "/");
    expect(readdirSync(join(root, "ingest"))).toEqual([]);
    const names: string[] = [];
    for await (const b of store.list()) names.push(b.digest);
    expect(names).toEqual([]);
  });

  it("4 concurrent processes tagging and ingesting lose no update", async () => {
    const root = join(work, "conc");
    const images = await openImageStore(root);
    const imported = await importRootfs(images.store, Readable.from([await tinyRootfsTar()]));
    await images.putImage("base:1", imported.manifest);
    const env = { TARGET: JSON.stringify(imported.manifest) };
    const procs = [0, 1, 2, 3].map((i) => run(["tag-many", root, String(i)], env));
    const codes = await Promise.all(procs.map((p) => new Promise<number | null>((r) => p.on("exit", r))));
    expect(codes).toEqual([0, 0, 0, 0]);
    const list = await images.listImages();
    expect(list.length).toBe(1 + 4 * 15);
    expect(readdirSync(join(root, "locks")).filter((n) => n.endsWith(".lock"))).toEqual([]);
    let blobs = 0;
    for await (const _ of images.store.list()) blobs++;
    expect(blobs).toBe(3 + 4 * 15);
  });
});
