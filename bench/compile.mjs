#!/usr/bin/env node
// Parse + compile a 10,000-instruction Dockerfile through the bundle (dist/index.js). Target: < 200 ms.
// Usage: node scripts/bundle.mjs && node bench/compile.mjs [instructions]
import { performance } from "node:perf_hooks";
import { compileText } from "../dist/index.js";

const n = Number(process.argv[2] ?? 10000);
const kinds = [
  (i) => `RUN echo step ${i} > /tmp/f${i % 50}`,
  (i) => `ENV V${i % 20}=value${i}`,
  (i) => `COPY file${i % 100}.txt /app/${i % 10}/`,
  (i) => `LABEL l${i % 30}=v${i}`,
  (i) => `WORKDIR /w/${i % 7}`,
  (i) => `ARG A${i % 10}=${i}`,
];
const lines = ["FROM busybox AS base"];
for (let i = 0; i < n; i++) {
  if (i > 0 && i % 2000 === 0) lines.push(`FROM base AS s${i}`);
  else lines.push(kinds[i % kinds.length](i));
}
const text = `${lines.join("\n")}\n`;
const resolver = {
  resolve: async (ref, p) => ({ ref, config: { architecture: p.architecture, os: p.os, rootfs: { type: "layers", diff_ids: [`sha256:${"a".repeat(64)}`] }, config: {} } }),
};
const run = () => compileText(text, { resolver });
await run(); // warm-up (JIT, lazy parser construction)
const times = [];
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  const r = await run();
  times.push(performance.now() - t0);
  if (i === 0) console.log(`vertices: ${r.graph.vertices.length}, history: ${r.image.history?.length}`);
}
times.sort((a, b) => a - b);
const median = times[2];
console.log(`parse+compile ${n} instructions: median ${median.toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times[4].toFixed(1)})`);
process.exitCode = median < 200 ? 0 : 1;
