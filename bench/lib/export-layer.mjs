#!/usr/bin/env node
// One layer export through tsbuild's exporter path (snapshot diff → tar → compressor → sha256 → file), in its own
// process so that run.mjs measures its wall time and peak RSS. Modes:
//   prepare ROOT SRC_DIR             commit SRC_DIR's files as snapshot "big" under ROOT (untimed setup)
//   export ROOT OUT gzip|zstd|none   export that snapshot's diff as a layer blob to OUT, print the descriptor
//   zlib FILE                        single-thread Node zlib gzip (level 6) of FILE, the reference throughput
import { createReadStream, createWriteStream } from "node:fs";
import { cp } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";

const repo = resolve(import.meta.dirname, "..", "..");
const [mode, a, b, c] = process.argv.slice(2);

if (mode === "zlib") {
  let bytes = 0;
  await pipeline(createReadStream(a, { highWaterMark: 1 << 20 }), createGzip({ level: 6 }), new Writable({ write: (chunk, _e, cb) => ((bytes += chunk.length), cb()) }));
  console.log(JSON.stringify({ compressed: bytes }));
} else {
  // run.mjs passes its private bundle; default: the checkout's dist/.
  const dist = process.env.TSB_BENCH_DIST ?? join(repo, "dist");
  const { createSnapshotter, exportLayer } = await import(join(dist, "index.js"));
  const s = await createSnapshotter(a, { driver: "copy" });
  try {
    if (mode === "prepare") {
      await s.prepare("big");
      await cp(b, await s.mount("big"), { recursive: true });
      await s.commit("big");
    } else if (mode === "export") {
      const desc = await exportLayer(await s.diff("big"), b, { compression: c });
      console.log(JSON.stringify(desc));
    } else {
      throw new Error(`unknown mode ${mode}`);
    }
  } finally {
    await s.close?.();
  }
}
