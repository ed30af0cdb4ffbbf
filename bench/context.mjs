#!/usr/bin/env node
// Build-context benchmark: a generated 20,000-file context (200 dirs × 100 files, a .dockerignore with an
// excluded directory), measuring (1) the first index build, (2) the re-check of the unchanged context with the
// persistent index, (3) the re-check after one file changed (only it must be rehashed).
// Usage: node bench/context.mjs [files=20000] [runs=5]
import { build } from "esbuild";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const repo = resolve(import.meta.dirname, "..");
const files = Number(process.argv[2] ?? 20000);
const runs = Number(process.argv[3] ?? 5);

const work = mkdtempSync(join(tmpdir(), "tsb-bench-ctx-"));
const out = join(work, "context.mjs");
await build({
  entryPoints: [join(repo, "src/context/index.ts")],
  outfile: out,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  absWorkingDir: repo,
  logLevel: "warning",
});
// Resolve bare imports (xxhash-wasm) from the repo's node_modules.
const mod = join(repo, "node_modules", ".tsb-bench-context.mjs");
writeFileSync(mod, (await import("node:fs")).readFileSync(out));
const { openContext } = await import(pathToFileURL(mod).href);

const root = join(work, "ctx");
const indexDir = join(work, "index");
const perDir = 100;
for (let i = 0; i < files; i++) {
  const dir = join(root, `pkg${Math.floor(i / perDir)}`, i % 2 ? "src" : "lib");
  if (i % perDir < 2) mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `file${i}.txt`), `file ${i}\n`.repeat(1 + (i % 50)));
}
mkdirSync(join(root, "node_modules/x"), { recursive: true });
writeFileSync(join(root, "node_modules/x/index.js"), "ignored");
writeFileSync(join(root, ".dockerignore"), "node_modules\n*.log\n");

// Files written just now fall in the index's racy second; a clock 2 s ahead stands for "the next build".
const later = () => Date.now() + 2000;

async function once(label) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const ctx = await openContext({ root, indexDir, now: later });
  const digest = await ctx.checksum({ path: "." });
  await ctx.close();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  return { label, ms, cpuMs: (cpu.user + cpu.system) / 1000, digest, stats: ctx.stats };
}

function report(results) {
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const r = results[0];
  const median = ms[Math.floor(ms.length / 2)];
  const cpu = results.map((x) => x.cpuMs).sort((a, b) => a - b)[Math.floor(ms.length / 2)];
  console.log(
    `${r.label.padEnd(28)} median ${median.toFixed(1).padStart(7)} ms  min ${ms[0].toFixed(1).padStart(7)} ms  cpu ${cpu.toFixed(0).padStart(5)} ms  ` +
      `(stat hits ${r.stats.statHits}, xxh re-reads ${r.stats.xxhVerified}, sha256 ${r.stats.sha256Computed})`,
  );
  return median;
}

try {
  console.log(`context: ${files} files in ${Math.ceil(files / perDir)} packages, ${runs} runs each, node ${process.version}`);
  const first = [];
  for (let i = 0; i < runs; i++) {
    rmSync(indexDir, { recursive: true, force: true });
    first.push(await once("first build (empty index)"));
  }
  report(first);
  const recheck = [];
  for (let i = 0; i < runs; i++) recheck.push(await once("re-check, unchanged"));
  const recheckMedian = report(recheck);
  if (recheck.some((r) => r.digest !== first[0].digest)) throw new Error("digest changed without a change");
  const changed = [];
  for (let i = 0; i < runs; i++) {
    writeFileSync(join(root, "pkg7/src/file701.txt"), `changed ${i}\n`);
    changed.push(await once("re-check, one file changed"));
  }
  report(changed);
  if (changed.some((r) => r.stats.sha256Computed !== 1)) throw new Error("expected exactly one file rehashed");
  console.log(recheckMedian < 300 ? "OK: unchanged re-check under 300 ms" : "SLOW: unchanged re-check over 300 ms");
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(mod, { force: true });
}
