#!/usr/bin/env node
// Parse + compile a 10,000-instruction Dockerfile through the bundle (dist/index.js). Target: < 200 ms median.
// Usage: node scripts/bundle.mjs && node bench/compile.mjs [instructions] [runs]
// Prints wall time, process CPU time (user + system, all threads: GC helpers included) and GC pause time per run,
// with the load average: the machine is shared, so compare CPU time when the load differs.
import { loadavg } from "node:os";
import { PerformanceObserver, performance } from "node:perf_hooks";
import { compileText } from "../dist/index.js";

const n = Number(process.argv[2] ?? 10000);
const runs = Math.max(1, Number(process.argv[3] ?? 11));
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

let gcMs = 0;
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
});
obs.observe({ entryTypes: ["gc"] });
const tick = () => new Promise((r) => setTimeout(r, 5)); // lets the GC observer deliver its entries

const run = () => compileText(text, { resolver });
await run(); // warm-up (JIT, lazy parser construction)
const wall = [];
const cpu = [];
const gc = [];
let first;
for (let i = 0; i < runs; i++) {
  await tick();
  const gc0 = gcMs;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await run();
  wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
  await tick();
  gc.push(gcMs - gc0);
  first ??= r;
}
obs.disconnect();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const min = (xs) => Math.min(...xs);
const f = (x) => x.toFixed(1);
console.log(`vertices: ${first.graph.vertices.length}, history: ${first.image.history?.length}`);
console.log(`load average: ${loadavg().map((x) => x.toFixed(2)).join(" ")} (${runs} runs)`);
console.log(`parse+compile ${n} instructions: median ${f(median(wall))} ms (min ${f(min(wall))}, max ${f(Math.max(...wall))})`);
console.log(`  cpu time: median ${f(median(cpu))} ms (min ${f(min(cpu))}); gc pauses: median ${f(median(gc))} ms`);
process.exitCode = median(wall) < 200 ? 0 : 1;
