#!/usr/bin/env node
// Layer export throughput: commit a large directory into a snapshot (copy driver, so no mount is needed) and
// export its diff as a layer with gzip (default level 6), zstd (level 3: CLI with -T, and the in-process library) and no compression; prints MB/s of the
// uncompressed tar. Usage: node bench/layer-export.mjs [--mb 256] [--files 2000]. Needs `node scripts/bundle.mjs`.
import { randomFillSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";

const repo = resolve(import.meta.dirname, "..");
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const totalMb = arg("mb", 256);
const files = arg("files", 2000);
if (!existsSync(join(repo, "dist/index.js"))) {
  console.error("dist/index.js is missing: run node scripts/bundle.mjs");
  process.exit(1);
}
const { createSnapshotter, exportLayer } = await import(join(repo, "dist/index.js"));

const dir = await mkdtemp(join(tmpdir(), "tsb-bench-layer-"));
try {
  const s = await createSnapshotter(join(dir, "root"), { driver: "copy" });
  await s.prepare("big");
  const fs = await s.mount("big");
  // ¾ text-like (compressible), ¼ random, spread over `files` files in 20 directories
  const per = Math.max(1, Math.floor((totalMb * 1024 * 1024) / files));
  const text = Buffer.from("lorem ipsum dolor sit amet, consectetur adipiscing elit 0123456789\n".repeat(Math.ceil(per / 66))).subarray(0, per);
  for (let i = 0; i < files; i++) {
    const d = join(fs, `d${i % 20}`);
    if (i < 20) await mkdir(d);
    await writeFile(join(d, `f${i}`), i % 4 === 3 ? randomFillSync(Buffer.alloc(per)) : text);
  }
  await s.commit("big");
  const diff = await s.diff("big");
  const rows = [["gzip", 6], ["gzip", 1], ["zstd", 3, "cli"], ["zstd", 3, "lib"], ["none", undefined]];
  for (const [compression, level, zstdBackend] of rows) {
    const out = join(dir, `layer-${compression}`);
    const t0 = performance.now();
    const desc = await exportLayer(diff, out, { compression, level, zstdBackend });
    const secs = (performance.now() - t0) / 1000;
    const mb = desc.uncompressedSize / 1e6;
    const name = `${compression}${zstdBackend ? `/${zstdBackend}` : ""}`;
    console.log(`${name.padEnd(8)} ${String(level ?? "-").padEnd(2)} ${mb.toFixed(0)} MB tar → ${(desc.size / 1e6).toFixed(0)} MB in ${secs.toFixed(2)} s: ${(mb / secs).toFixed(0)} MB/s`);
    await rm(out);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
