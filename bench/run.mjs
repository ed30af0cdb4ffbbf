#!/usr/bin/env node
// `npm run bench`: tsbuild side by side with Docker's BuildKit and Buildah on this machine, in one run.
// Each figure is the median of --runs runs (interleaved across builders); ratios are tsbuild/buildkit and
// tsbuild/buildah; RSS is tsbuild's peak (/usr/bin/time). Starts its own dockerd and docker-registry, keeps every
// builder's state under one temp directory, and removes all of it on exit (also on Ctrl-C).
// Usage: node bench/run.mjs [--runs 3] [--only cold,cached,copy,export,push] [--files 20000] [--big-mb 200]
//        [--export-mb 1024] [--push-mb 500] [--markdown FILE]
// Needs root (dockerd, buildah). tsbuild is bundled from the working tree into the temp dir. See bench/README.md.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildah, buildkit, tsbuild } from "./lib/builders.mjs";
import { sections } from "./lib/sections.mjs";
import { cleanupAll, fmtMb, fmtRatio, fmtS, have, log, machine, onCleanup } from "./lib/util.mjs";

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const runs = Number(arg("runs", "3"));
const only = arg("only", "cold,cached,copy,export,push").split(",");
const opts = { files: Number(arg("files", "20000")), bigMb: Number(arg("big-mb", "200")), exportMb: Number(arg("export-mb", "1024")), pushMb: Number(arg("push-mb", "500")) };
for (const s of only) if (!sections[s]) throw new Error(`unknown section ${s}: use ${Object.keys(sections).join(",")}`);
if (process.getuid?.() !== 0) {
  console.error("bench: run as root (it starts dockerd and runs buildah with its own storage)");
  process.exit(2);
}
for (const [bin, pkg] of [["/usr/bin/time", "time"], ["docker-registry", "docker-registry"]]) {
  if (!have(bin)) {
    console.error(`bench: ${bin} is missing: apt-get install ${pkg}`);
    process.exit(2);
  }
}
const tests = "/tmp/tsbuild-test-cache";
const bases = [
  { tar: join(tests, "busybox-rootfs.tar"), name: "busybox:latest" },
  { tar: join(tests, "debian-bookworm-minbase.tar"), name: "bench-debian:bookworm" },
];
for (const b of bases) {
  if (!existsSync(b.tar)) {
    console.error(`bench: ${b.tar} is missing: run the test suite once (npm test) or see test/helpers/base-images.ts`);
    process.exit(2);
  }
}

let interrupted = false;
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    log(`bench: ${sig}, cleaning up…`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

const started = new Date();
const work = mkdtempSync(join(tmpdir(), "tsb-bench-"));
onCleanup(() => rmSync(work, { recursive: true, force: true }));
let code = 0;
try {
  const builders = { tsbuild: tsbuild(work), buildkit: buildkit(work), buildah: buildah(work) };
  for (const b of Object.values(builders).filter(Boolean)) {
    log(`bench: setting up ${b.name} (importing the base images)`);
    await b.setup(bases);
  }
  const m = machine();
  const rows = [];
  for (const s of only) rows.push(...(await sections[s]({ work, runs, builders, opts })));
  const versions = Object.values(builders).filter(Boolean).map((b) => `${b.name} ${b.version}`).join("; ");
  const md = table(rows, { m, versions, started });
  process.stdout.write(md);
  const out = arg("markdown");
  if (out) writeFileSync(out, md);
  if (rows.some((r) => !r.pass)) code = 1;
} catch (err) {
  console.error(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  code = 1;
} finally {
  await cleanupAll();
}
process.exit(code);

function table(rows, { m, versions, started }) {
  const lines = [
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memGb} GB RAM; ${started.toISOString().slice(0, 10)}; load before ${m.load}, after ${machine().load}; ${runs} runs, medians.`,
    `Versions: ${versions}.`,
    "",
    "| section | case | tsbuild | BuildKit | Buildah | tsbuild/BuildKit | tsbuild/Buildah | tsbuild CPU | tsbuild peak RSS | target | met |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    lines.push(`| ${r.section} | ${r.case} | ${fmtS(r.tsbuild)} | ${fmtS(r.buildkit)} | ${fmtS(r.buildah)} | ${fmtRatio(r.tsbuild, r.buildkit)} | ${fmtRatio(r.tsbuild, r.buildah)} | ${fmtS(r.cpu)} | ${fmtMb(r.rss)} | ${r.target} | ${r.pass ? "yes" : "**no**"} |`);
  }
  return `${lines.join("\n")}\n`;
}
