/**
 * tsbuild-deflate (native/deflate.c), the libdeflate gzip backend: bytes depend only on input and level (not on the
 * thread count or on how the pipe delivers the input), pieces are exactly 1 MiB, every gzip reader reads the
 * multi-member output whole, and it compresses the minbase rootfs as well as pigz does.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawn, spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { createCompressor, deflateToolPath, gzipBackendStatus } from "../../../src/snapshot/compress.js";
import { exportLayer, type DiffSource } from "../../../src/snapshot/index.js";
import { minbaseRootfsTar, requireTool } from "../../helpers/base-images.js";
import { tmp } from "./tree.js";

const MiB = 1 << 20;
const dir = tmp("tsb-deflate-");
let tool: string;

/** ~20 MiB: text, random and zero runs of uneven lengths, so pieces of every kind and a short last one. */
function mixed(): Buffer {
  const text = Buffer.from("lorem ipsum dolor sit amet 0123456789 usr/lib/x86_64-linux-gnu\n".repeat(40_000));
  const parts: Buffer[] = [];
  for (let i = 0; i < 12; i++) {
    parts.push(text.subarray(0, 700_000 + i * 31_337), randomFillSync(Buffer.alloc(300_000 + i * 7)), Buffer.alloc(650_001));
  }
  return Buffer.concat(parts);
}
let big: Buffer;

function run(args: readonly string[], input: Buffer): { code: number | null; out: Buffer; err: string } {
  const r = spawnSync(tool, args, { input, maxBuffer: 1 << 30 });
  return { code: r.status, out: r.stdout, err: r.stderr.toString() };
}

function deflate(input: Buffer, level = 6, threads = 2): Buffer {
  const r = run([`-${level}`, "-p", String(threads)], input);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  return r.out;
}

/** Feed the tool in odd-sized writes, each waited for, so its read() calls see small, unaligned chunks. */
async function deflateTrickled(input: Buffer, sizes: readonly number[]): Promise<Buffer> {
  const child = spawn(tool, ["-6", "-p", "3"], { stdio: ["pipe", "pipe", "inherit"] });
  const out: Buffer[] = [];
  child.stdout.on("data", (b: Buffer) => out.push(b));
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  for (let off = 0, i = 0; off < input.length; i++) {
    const n = sizes[i % sizes.length]!;
    const chunk = input.subarray(off, off + n);
    off += n;
    await new Promise<void>((resolve, reject) => child.stdin.write(chunk, (e) => (e ? reject(e) : resolve())));
    if (i % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  child.stdin.end();
  expect(await closed).toBe(0);
  return Buffer.concat(out);
}

beforeAll(() => {
  requireTool("gzip", "gzip");
  requireTool("pigz", "pigz");
  try {
    tool = deflateToolPath();
  } catch (e) {
    throw new Error(`tsbuild-deflate does not build (apt-get install libdeflate-dev gcc): ${(e as Error).message}`);
  }
  big = mixed();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("tsbuild-deflate", () => {
  it("auto picks it", () => {
    expect(gzipBackendStatus()).toEqual({ backend: "libdeflate" });
  });

  it("gives the same bytes for -p 1, 2 and 4 and for input trickled in odd-sized writes", async () => {
    const one = deflate(big, 6, 1);
    expect(deflate(big, 6, 2).equals(one)).toBe(true);
    expect(deflate(big, 6, 4).equals(one)).toBe(true);
    const trickled = await deflateTrickled(big.subarray(0, 5 * MiB + 12_345), [1, 4093, 65_537, 7, 1_000_003, 131_071]);
    expect(trickled.equals(deflate(big.subarray(0, 5 * MiB + 12_345), 6, 1))).toBe(true);
  });

  it("cuts the input into exactly 1 MiB pieces, each one gzip member", () => {
    const a = big.subarray(0, MiB);
    const b = big.subarray(MiB, 2 * MiB + 1);
    // 2 MiB + 1 bytes = members of [0, 1 MiB), [1 MiB, 2 MiB), [2 MiB, 2 MiB + 1)
    const whole = deflate(big.subarray(0, 2 * MiB + 1));
    expect(whole.equals(Buffer.concat([deflate(a), deflate(b.subarray(0, MiB)), deflate(b.subarray(MiB))]))).toBe(true);
    expect(gunzipSync(whole).equals(big.subarray(0, 2 * MiB + 1))).toBe(true);
  });

  it.each([
    ["empty", 0],
    ["1 byte", 1],
    ["exactly 1 MiB", MiB],
    ["1 MiB + 1", MiB + 1],
    ["~20 MiB mixed", -1],
  ])("round-trips %s through gzip -dc, pigz -dc and zlib", (_what, size) => {
    const input = size < 0 ? big : big.subarray(0, size);
    const gz = deflate(input);
    expect(gz.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(true);
    for (const cmd of ["gzip", "pigz"]) {
      const r = spawnSync(cmd, ["-dc"], { input: gz, maxBuffer: 1 << 30 });
      expect(r.status).toBe(0);
      expect(r.stdout.equals(input)).toBe(true);
    }
    expect(gunzipSync(gz).equals(input)).toBe(true);
  });

  it("levels 1 and 9 give different bytes, and both round-trip", () => {
    const input = big.subarray(0, 6 * MiB);
    const l1 = deflate(input, 1);
    const l9 = deflate(input, 9);
    expect(l1.equals(l9)).toBe(false);
    expect(l9.length).toBeLessThan(l1.length);
    expect(gunzipSync(l1).equals(input)).toBe(true);
    expect(gunzipSync(l9).equals(input)).toBe(true);
  });

  it.each(["-0", "-13", "-x", "-6 -p 0", "-6 -p two"])("rejects %p with a message and exit status 1", (args) => {
    const r = run(args.split(" "), Buffer.from("x"));
    expect(r.code).toBe(1);
    expect(r.err).toContain("usage: tsbuild-deflate");
    expect(r.out.length).toBe(0);
  });

  it("exits 1 with a message when stdout is closed early (EPIPE)", () => {
    const r = spawnSync("sh", ["-c", `"$0" -6 -p 2 | head -c 10 >/dev/null`, tool], { input: big, maxBuffer: 1 << 30 });
    expect(r.stderr.toString()).toContain("tsbuild-deflate: write to stdout: Broken pipe");
  });

  it("compresses the minbase rootfs no worse than pigz -6 (within 1 %)", async () => {
    const tar = readFileSync(await minbaseRootfsTar());
    const pigz = spawnSync("pigz", ["-n", "-c", "-6", "-p", "2"], { input: tar, maxBuffer: 1 << 30 }).stdout;
    const ours = deflate(tar, 6, 2);
    expect(ours.length).toBeLessThanOrEqual(pigz.length * 1.01);
    expect(gunzipSync(ours).equals(tar)).toBe(true);
  }, 120_000);
});

describe("createCompressor gzip levels", () => {
  it.each([0, 10, 2.5])("rejects level %p before compressing", (level) => {
    expect(() => createCompressor("gzip", level, { gzip: "libdeflate" })).toThrow(expect.objectContaining({ code: "TSB_LAYER_LEVEL" }));
  });
});

describe("exportLayer with the libdeflate backend", () => {
  it("writes a multi-member blob whose content is the uncompressed layer, the same as auto", async () => {
    const root = join(dir, "tree");
    mkdirSync(root);
    writeFileSync(join(root, "a"), big.subarray(0, 3 * MiB + 5));
    writeFileSync(join(root, "b"), "small\n");
    const source: DiffSource = {
      root,
      entries: ["a", "b"].map((p) => ({ kind: "entry" as const, path: p, stat: lstatSync(join(root, p), { bigint: true }) })),
      xattrs: new Map(),
    };
    const blob = async (opts: Parameters<typeof exportLayer>[2]): Promise<Buffer> => {
      const file = join(dir, `blob-${Math.random()}`);
      const desc = await exportLayer(source, file, opts);
      const buf = readFileSync(file);
      expect(desc.size).toBe(buf.length);
      return buf;
    };
    const tar = await blob({ compression: "none" });
    const gz = await blob({ compression: "gzip", gzipBackend: "libdeflate" });
    expect(gz.equals(deflate(tar, 6))).toBe(true);
    expect(gunzipSync(gz).equals(tar)).toBe(true);
    expect((await blob({ compression: "gzip" })).equals(gz)).toBe(true);
    const pigz = await blob({ compression: "gzip", gzipBackend: "pigz" });
    expect(pigz.equals(gz)).toBe(false);
  });
});
