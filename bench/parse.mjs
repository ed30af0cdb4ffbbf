#!/usr/bin/env node
// Parser benchmark: generates a 10,000-instruction Dockerfile (all instruction kinds, flags, JSON and shell forms,
// continuations, heredocs), parses it through the bundle (dist/index.js; build it with `node scripts/bundle.mjs`)
// and prints import, first-parse and warm-parse times. Target: warm parse < 200 ms.
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const N = Number(process.env.BENCH_INSTRUCTIONS ?? 10000);
const templates = [
  (i) => `FROM --platform=$BUILDPLATFORM alpine:3.${i % 20} AS stage${i}`,
  (i) => `RUN --mount=type=cache,target=/root/.cache apk add --no-cache pkg${i} \\\n    && echo done${i}`,
  (i) => `COPY --from=stage${i} --chown=1000:1000 /src/${i} /dst/${i}`,
  (i) => `ENV KEY${i}=value${i} OTHER${i}="quoted value ${i}"`,
  (i) => `LABEL org.example.label${i}="label ${i}"`,
  (i) => `CMD ["/bin/app", "--id", "${i}"]`,
  (i) => `ARG VERSION${i}=1.${i}`,
  (i) => `WORKDIR /app/${i}`,
  (i) => `# comment ${i}\nEXPOSE ${1000 + (i % 5000)}/tcp`,
  (i) => `RUN <<EOF\necho heredoc ${i}\nEOF`,
];
const lines = [];
for (let i = 0; i < N; i++) lines.push(templates[i % templates.length](i));
const text = `${lines.join("\n")}\n`;

const t0 = performance.now();
const { parseDockerfile } = await import(pathToFileURL(resolve(import.meta.dirname, "../dist/index.js")).href);
const t1 = performance.now();
const first = parseDockerfile(text, { filename: "Dockerfile" });
const t2 = performance.now();
const runs = [];
const cpu = [];
for (let r = 0; r < 7; r++) {
  const c = process.cpuUsage();
  const s = performance.now();
  parseDockerfile(text, { filename: "Dockerfile" });
  runs.push(performance.now() - s);
  const d = process.cpuUsage(c);
  cpu.push((d.user + d.system) / 1000);
}
runs.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
if (first.nodes.length !== N) throw new Error(`expected ${N} instructions, got ${first.nodes.length}`);
console.log(`parse: ${N} instructions, ${(text.length / 1024).toFixed(0)} KiB`);
console.log(`  import dist/index.js  ${(t1 - t0).toFixed(1)} ms`);
console.log(`  first parse (cold)    ${(t2 - t1).toFixed(1)} ms`);
console.log(`  warm parse (median)   ${runs[3].toFixed(1)} ms, cpu ${cpu[3].toFixed(1)} ms  (target < 200 ms)`);
console.log(`  load average          ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
