// The benchmark sections. Each gets {work, runs, builders: {tsbuild, buildkit?, buildah?}, opts} and returns
// table rows {section, case, tsbuild, buildkit, buildah (ms, medians), rss (MB, tsbuild peak), target, pass}.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bigFile, dockerfileContext, manyFiles, referenceContext } from "./fixtures.mjs";
import { log, max, median, run, startRegistry } from "./util.mjs";

const here = import.meta.dirname;
const order = (b) => [b.tsbuild, b.buildkit, b.buildah].filter(Boolean);

/** Time `fn(builder, i)` for every builder, interleaved per run; returns {name: {ms, rss}} medians / peaks. */
function timeAll(builders, runs, fn) {
  const ms = {};
  const rss = {};
  const cpu = {};
  for (let i = 0; i < runs; i++) {
    for (const b of order(builders)) {
      const r = fn(b, i);
      (ms[b.name] ??= []).push(r.ms);
      (rss[b.name] ??= []).push(r.rssMb);
      (cpu[b.name] ??= []).push(r.cpuMs);
    }
  }
  const out = {};
  for (const k of Object.keys(ms)) out[k] = { ms: median(ms[k]), rss: max(rss[k]), cpu: median(cpu[k]), all: ms[k] };
  return out;
}

function row(section, what, t, target, pass) {
  log(`  ${section} / ${what}: ${Object.entries(t).map(([k, v]) => `${k} ${(v.ms / 1000).toFixed(2)} s [${v.all.map((x) => (x / 1000).toFixed(2)).join(", ")}]`).join(", ")}`);
  return { section, case: what, tsbuild: t.tsbuild?.ms, buildkit: t.buildkit?.ms, buildah: t.buildah?.ms, rss: t.tsbuild?.rss, cpu: t.tsbuild?.cpu, target, pass: pass(t) };
}

const ratioOk = (t, other, limit) => t[other] === undefined || t.tsbuild.ms <= limit * t[other].ms;

/** Cold builds (--no-cache, base image present and unpacked) of the three reference Dockerfiles. */
export function cold({ work, runs, builders }) {
  const rows = [];
  for (const name of ["busybox", "debian", "multistage"]) {
    const ctx = referenceContext(name, join(work, `ctx-${name}`));
    log(`cold build: ${name}`);
    for (const b of order(builders)) b.build({ ctx, tag: `bench-${name}` }); // warm-up: unpack base images
    const t = timeAll(builders, runs, (b) => b.build({ ctx, tag: `bench-${name}`, noCache: true }));
    rows.push(row("cold build", name, t, "≤ 0.5× buildah, < buildkit", (x) => ratioOk(x, "buildah", 0.5) && ratioOk(x, "buildkit", 1)));
  }
  return rows;
}

/** Fully cached rebuild of the busybox reference build, and of a 20,000-file context; then one file changed. */
export function cached({ work, runs, builders, opts }) {
  const rows = [];
  const ctx = join(work, "ctx-busybox");
  log("cached rebuild: busybox");
  for (const b of order(builders)) b.build({ ctx, tag: "bench-busybox" });
  const t = timeAll(builders, runs, (b) => b.build({ ctx, tag: "bench-busybox" }));
  rows.push(row("cached rebuild", "busybox", t, "≤ 0.3 s, ≤ 0.1× buildah", (x) => x.tsbuild.ms <= 300 && ratioOk(x, "buildah", 0.1)));

  const big = dockerfileContext(join(work, "ctx-20k"), ["COPY . /ctx/", "RUN ls -R /ctx | wc -l > /count"]);
  manyFiles(big, opts.files);
  log(`rebuilds of a ${opts.files}-file context`);
  for (const b of order(builders)) b.build({ ctx: big, tag: "bench-20k" });
  const t2 = timeAll(builders, runs, (b) => b.build({ ctx: big, tag: "bench-20k" }));
  rows.push(row("cached rebuild", `${opts.files}-file context`, t2, "≤ 0.3 s", (x) => x.tsbuild.ms <= 300));
  const changed = join(big, "src", "pkg7", "file701.txt");
  const t3 = timeAll(builders, runs, (b, i) => {
    if (b === builders.tsbuild) writeFileSync(changed, `changed in run ${i}\n`);
    return b.build({ ctx: big, tag: "bench-20k" });
  });
  rows.push(row("one file changed", `${opts.files}-file context`, t3, "≤ 0.5 s", (x) => x.tsbuild.ms <= 500));
  return rows;
}

/** COPY of a 20,000-file context plus one 200 MB file (cold). */
export function copy({ work, runs, builders, opts }) {
  const ctx = dockerfileContext(join(work, "ctx-copy"), ["COPY . /data/"]);
  manyFiles(ctx, opts.files);
  bigFile(join(ctx, "big.bin"), opts.bigMb);
  log(`COPY of ${opts.files} files + ${opts.bigMb} MB`);
  for (const b of order(builders)) b.build({ ctx, tag: "bench-copy" });
  const t = timeAll(builders, runs, (b) => b.build({ ctx, tag: "bench-copy", noCache: true }));
  return [row("COPY", `${opts.files} files + ${opts.bigMb} MB file`, t, "< buildkit, ≤ 0.5× buildah", (x) => ratioOk(x, "buildkit", 1) && ratioOk(x, "buildah", 0.5))];
}

/**
 * Export of a layer of `exportMb` (¾ text, ¼ random): tsbuild's exporter path (bench/lib/export-layer.mjs) vs
 * `buildah push oci-archive:` with the same compression and `docker save` (uncompressed only); gzip is also
 * compared with one-thread Node zlib on the same bytes.
 */
export function exportLayer({ work, runs, builders, opts }) {
  const rows = [];
  const ctx = dockerfileContext(join(work, "ctx-export"), ["COPY big.bin /big.bin"]);
  const src = join(ctx, "big.bin");
  bigFile(src, opts.exportMb);
  const layerDir = join(work, "export-src");
  mkdirSync(layerDir);
  // Only big.bin goes into the snapshot: a hard link, not a copy.
  run("ln", [src, join(layerDir, "big.bin")]);
  const snapRoot = join(work, "export-snap");
  const env = { TSB_BENCH_DIST: builders.tsbuild.dist };
  const child = (args, rss = true) => run(process.execPath, [join(here, "export-layer.mjs"), ...args], { env, ...(rss ? { rssFile: join(work, "export.rss") } : {}) });
  log(`export of a ${opts.exportMb} MB layer`);
  child(["prepare", snapRoot, layerDir], false);
  for (const b of [builders.buildkit, builders.buildah].filter(Boolean)) b.build({ ctx, tag: "bench-export" });
  const mbOf = (ms) => (opts.exportMb * 1.048576) / (ms / 1000);
  const zlib = median(Array.from({ length: Math.min(runs, 2) }, () => child(["zlib", src], false).ms));
  for (const compression of ["gzip", "zstd", "none"]) {
    const out = join(work, `layer.${compression}`);
    const t = timeAll({ tsbuild: { name: "tsbuild" }, buildkit: compression === "none" ? builders.buildkit : undefined, buildah: builders.buildah }, runs, (b) => {
      const dest = `${out}.${b.name}`;
      const r = b.name === "tsbuild" ? child(["export", snapRoot, dest, compression]) : b.name === "buildah" ? b.pushArchive("bench-export", dest, compression) : b.save("bench-export", dest);
      rmSync(dest, { force: true });
      return r;
    });
    const extra = compression === "gzip" ? ` (${mbOf(t.tsbuild.ms).toFixed(0)} MB/s; 1-thread zlib ${mbOf(zlib).toFixed(0)} MB/s = ${(zlib / t.tsbuild.ms).toFixed(2)}×)` : ` (${mbOf(t.tsbuild.ms).toFixed(0)} MB/s)`;
    rows.push(row("layer export", `${opts.exportMb} MB, ${compression}${extra}`, t,
      compression === "gzip" ? "≥ 1.7× zlib, RSS ≤ 300 MB" : "RSS ≤ 300 MB",
      (x) => (x.tsbuild.rss ?? 0) <= 300 && (compression !== "gzip" || zlib / x.tsbuild.ms >= 1.7)));
  }
  rmSync(snapRoot, { recursive: true, force: true });
  return rows;
}

/** Push of a `pushMb` image (random data, one layer) to a fresh local registry: tsbuild push, buildah push, skopeo copy. */
export async function push({ work, runs, builders, opts }) {
  const ctx = dockerfileContext(join(work, "ctx-push"), ["COPY data/ /data/"]);
  mkdirSync(join(ctx, "data"));
  for (let i = 0; i < 5; i++) bigFile(join(ctx, "data", `part${i}.bin`), Math.round(opts.pushMb / 5), { random: true });
  log(`push of a ${opts.pushMb} MB image`);
  builders.tsbuild.build({ ctx, tag: "bench-push" });
  builders.buildah?.build({ ctx, tag: "bench-push" });
  const haveSkopeo = run("sh", ["-c", "command -v skopeo"], { allowFail: true }).status === 0;
  const layout = join(work, "push-oci");
  if (haveSkopeo) {
    builders.tsbuild.build({ ctx, tag: "bench-push", output: `type=oci,dest=${layout}.tar` });
    mkdirSync(layout);
    run("tar", ["-xf", `${layout}.tar`, "-C", layout]);
    rmSync(`${layout}.tar`);
  } else log("\n!!!!!!!! bench: skopeo is NOT INSTALLED: skopeo copy is skipped (apt-get install skopeo) !!!!!!!!\n");
  const skopeo = { name: "skopeo", push: (_tag, ref) => run("skopeo", ["copy", "-q", "--dest-tls-verify=false", `oci:${layout}`, `docker://${ref}`]) };
  const ms = { tsbuild: [], buildah: [], skopeo: [] };
  const rss = [];
  const cpu = [];
  for (let i = 0; i < runs; i++) {
    const reg = await startRegistry(work, `push-${i}`);
    for (const b of [builders.tsbuild, builders.buildah, haveSkopeo ? skopeo : undefined].filter(Boolean)) {
      const r = b.push("bench-push", `${reg.host}/${b.name}/img:${i}`);
      ms[b.name].push(r.ms);
      if (b.name === "tsbuild") (rss.push(r.rssMb), cpu.push(r.cpuMs));
    }
    await reg.stop();
    rmSync(join(work, `push-${i}-data`), { recursive: true, force: true });
  }
  const t = { tsbuild: { ms: median(ms.tsbuild), rss: max(rss), cpu: median(cpu), all: ms.tsbuild } };
  if (ms.buildah.length) t.buildah = { ms: median(ms.buildah), all: ms.buildah };
  const sk = median(ms.skopeo);
  const r = row("push", `${opts.pushMb} MB image${sk ? ` (skopeo copy ${(sk / 1000).toFixed(2)} s, tsbuild/skopeo ${(t.tsbuild.ms / sk).toFixed(2)}×)` : ""}`, t, "RSS ≤ 300 MB", (x) => (x.tsbuild.rss ?? 0) <= 300);
  return [{ ...r, skopeo: sk }];
}

export const sections = { cold, cached, copy, export: exportLayer, push };
