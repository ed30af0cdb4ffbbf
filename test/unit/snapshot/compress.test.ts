/** Layer compression backends: deterministic bytes per backend and level, the zstd CLI independent of -T. */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decompress } from "@cloudpss/zstd";
import { exportLayer, type DiffSource, type ExportOptions } from "../../../src/snapshot/index.js";
import { tmp } from "./tree.js";

const dir = tmp("tsb-compress-");
let source: DiffSource;

beforeAll(() => {
  if (spawnSync("zstd", ["--version"]).status !== 0) throw new Error("the zstd CLI is missing: apt-get install zstd");
  const root = join(dir, "tree");
  mkdirSync(root);
  // 24 MiB, half text and half random, so the multi-threaded format is cut into several jobs
  const text = Buffer.from("lorem ipsum dolor sit amet 0123456789\n".repeat(100_000));
  for (let i = 0; i < 6; i++) writeFileSync(join(root, `f${i}`), i % 2 ? randomFillSync(Buffer.alloc(4 << 20)) : Buffer.concat([text, text]).subarray(0, 4 << 20));
  const names = ["f0", "f1", "f2", "f3", "f4", "f5"];
  source = { root, entries: names.map((p) => ({ kind: "entry" as const, path: p, stat: lstatSync(join(root, p), { bigint: true }) })), xattrs: new Map() };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
async function blob(opts: ExportOptions): Promise<Buffer> {
  const file = join(dir, `blob${n++}`);
  const desc = await exportLayer(source, file, opts);
  const buf = readFileSync(file);
  expect(desc.size).toBe(buf.length);
  return buf;
}

describe("zstd", () => {
  it("CLI backend: same bytes every time, the same as zstd -T1 would write, and a valid frame", async () => {
    const a = await blob({ compression: "zstd", zstdBackend: "cli" });
    const b = await blob({ compression: "zstd", zstdBackend: "cli" });
    expect(a.equals(b)).toBe(true);
    const tar = await blob({ compression: "none" });
    const t1 = spawnSync("zstd", ["-q", "-c", "-3", "-T1"], { input: tar, maxBuffer: 1 << 30 }).stdout;
    expect(a.equals(t1)).toBe(true);
    expect(Buffer.from(decompress(a)).equals(tar)).toBe(true);
  });

  it("library backend: deterministic too, same content", async () => {
    const a = await blob({ compression: "zstd", zstdBackend: "lib", level: 5 });
    const b = await blob({ compression: "zstd", zstdBackend: "lib", level: 5 });
    expect(a.equals(b)).toBe(true);
    expect(Buffer.from(decompress(a)).equals(await blob({ compression: "none" }))).toBe(true);
  });

  it.each([0, 20, 2.5])("rejects level %p", async (level) => {
    await expect(exportLayer(source, join(dir, "bad"), { compression: "zstd", level })).rejects.toMatchObject({ code: "TSB_LAYER_LEVEL" });
  });
});
