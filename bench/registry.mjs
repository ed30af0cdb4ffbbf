#!/usr/bin/env node
// Registry throughput: push and pull a ~500 MB image (random, incompressible layers) to a local docker-registry
// with `tsbuild` (bin/tsbuild.js, the bundle) and with `skopeo copy`, side by side in the same run, and print the
// time ratio tsbuild/skopeo (target: ≤ 1.1), with the CPU time (user + system) and peak RSS of each command.
// Usage: node bench/registry.mjs [--mb 500] [--layers 5] [--runs 1] [--only push,pull] [--no-sync] [--settle S]
//                                [--variants NAME=DIR,NAME=DIR]   (DIR holds bin/tsbuild.js; default: this checkout)
// Variants and skopeo run alternately within each run (the order rotates run by run), so that a loaded machine
// hurts all of them alike. Needs: docker-registry, skopeo, time (Debian), and `node scripts/bundle.mjs` first.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { createWriteStream, existsSync, readFileSync } from "node:fs";
import { mkdtemp, mkdir, rm, writeFile, rename } from "node:fs/promises";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "..");
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const totalMb = arg("mb", 500);
const layers = arg("layers", 5);
const runs = arg("runs", 1);
const strArg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const only = strArg("only", "push,pull").split(",");
const variants = strArg("variants", `tsbuild=${repo}`).split(",").map((v) => {
  const [name, dir] = v.split("=");
  return { name, bin: join(resolve(dir), "bin", "tsbuild.js") };
});

for (const [bin, pkg] of [["docker-registry", "docker-registry"], ["skopeo", "skopeo"], ["/usr/bin/time", "time"]]) {
  if (spawnSync("sh", ["-c", `command -v ${bin}`]).status !== 0) {
    console.error(`${bin} is missing: apt-get install ${pkg}`);
    process.exit(1);
  }
}
for (const v of variants) {
  if (!existsSync(join(v.bin, "../../dist/cli.js"))) {
    console.error(`${join(v.bin, "../../dist/cli.js")} is missing: run node scripts/bundle.mjs`);
    process.exit(1);
  }
}
const binOf = (name) => variants.find((v) => v.name === name).bin;

const freePort = () =>
  new Promise((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

const tmp = await mkdtemp(join(tmpdir(), "tsbuild-bench-registry-"));
const registries = [];
/** Start a docker-registry; pushes go to a second one so neither tool can mount blobs from the seed repository. */
async function startRegistry(name) {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  await writeFile(join(tmp, `${name}.yml`), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(tmp, `${name}-data`)}\nhttp:\n  addr: ${host}\n`);
  registries.push(spawn("docker-registry", ["serve", join(tmp, `${name}.yml`)], { stdio: "ignore" }));
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://${host}/v2/`).then((r) => r.ok, () => false);
    if (ok) return host;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("docker-registry did not start");
}

/** Write an OCI layout with `layers` random uncompressed-tar layers totalling ~totalMb. */
async function makeLayout(dir) {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  const put = async (data) => {
    const d = createHash("sha256").update(data).digest("hex");
    await writeFile(join(dir, "blobs", "sha256", d), data);
    return { digest: `sha256:${d}`, size: data.length };
  };
  const layerDescs = [];
  const diffIds = [];
  const per = Math.floor((totalMb * 1024 * 1024) / layers);
  const buf = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < layers; i++) {
    // A tar with one file of `per - 1536` random bytes (header + padding + end blocks).
    const size = per - 1536;
    const header = Buffer.alloc(512);
    header.write(`layer${i}.bin`, 0);
    header.write("0000644\0", 100);
    header.write("0000000\0", 108);
    header.write("0000000\0", 116);
    header.write(size.toString(8).padStart(11, "0") + "\0", 124);
    header.write("00000000000\0", 136);
    header.write("        ", 148);
    header.write("0", 156);
    header.write("ustar\0" + "00", 257);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    const tmpFile = join(dir, `layer${i}.tmp`);
    const out = createWriteStream(tmpFile);
    const hash = createHash("sha256");
    const write = (b) => {
      hash.update(b);
      return out.write(b) ? Promise.resolve() : new Promise((r) => out.once("drain", r));
    };
    await write(header);
    for (let left = size; left > 0; ) {
      const n = Math.min(left, buf.length);
      randomFillSync(buf, 0, n);
      await write(Buffer.from(buf.subarray(0, n)));
      left -= n;
    }
    await write(Buffer.alloc(512 - (size % 512 || 512) + 1024));
    await new Promise((r) => out.end(r));
    const hex = hash.digest("hex");
    await rename(tmpFile, join(dir, "blobs", "sha256", hex));
    const total = 512 + size + (512 - (size % 512 || 512)) + 1024;
    layerDescs.push({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${hex}`, size: total });
    diffIds.push(`sha256:${hex}`);
  }
  const config = await put(Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: diffIds }, config: {} })));
  const manifest = await put(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config }, layers: layerDescs,
  })));
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(join(dir, "index.json"), JSON.stringify({
    schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": "bench" } }],
  }));
}

/** `--settle S`: also wait S seconds before each measurement (lets the registry and the disk go idle after a push). */
const settleS = Number(process.argv[process.argv.indexOf("--settle") + 1] ?? 0) || 0;

/**
 * Run a command under /usr/bin/time: wall ms, CPU ms (user + system of the process tree it waited for), max RSS.
 * Each measurement starts with no dirty page cache left by the one before (`sync`, as hyperfine's `--prepare sync`):
 * otherwise whichever tool follows a 500 MB write that nobody flushed (skopeo's `oci:` output, the registry's own
 * files) pays for that writeback in its fsyncs. `--no-sync` turns this off.
 */
function timed(cmd, args) {
  if (!process.argv.includes("--no-sync")) spawnSync("sync");
  if (settleS > 0) spawnSync("sleep", [String(settleS)]);
  const tf = join(tmp, "time.out");
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-o", tf, "-f", "%U %S %M", cmd, ...args], { encoding: "utf8", env: { ...process.env, DOCKER_CONFIG: join(tmp, "docker") } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  const [u, sy, rss] = readFileSync(tf, "utf8").trim().split(/\s+/).slice(-3).map(Number);
  return { ms, cpu: (u + sy) * 1000, rssMb: rss / 1024 };
}
const tsbuild = (bin, ...args) => timed(process.execPath, [bin, ...args]);
const skopeo = (...args) => timed("skopeo", args);
const rotate = (xs, n) => xs.map((_, i) => xs[(i + n) % xs.length]);

try {
  const host = await startRegistry("seed");
  const layout = join(tmp, "layout");
  console.log(`bench/registry: building a ${totalMb} MB image (${layers} random layers)…`);
  await makeLayout(layout);
  // Seed the registry and a tsbuild root with the image.
  skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", `oci:${layout}:bench`, `docker://${host}/seed/img:1`);
  const seedRoot = join(tmp, "seed-root");
  tsbuild(variants[0].bin, "pull", `${host}/seed/img:1`, "--root", seedRoot, "-q");

  const rows = [];
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  for (let run = 1; run <= runs; run++) {
    const tools = rotate([...variants.map((v) => v.name), "skopeo"], run - 1);
    if (only.includes("push")) {
      // Push: a fresh registry each run (skopeo's blob-info cache would mount from the previous run); no mount hints.
      const target = await startRegistry(`target-${run}`);
      const targetProc = registries[registries.length - 1];
      for (const [i, t] of tools.entries()) {
        const dest = `${target}/${t}-push-${run}-${i}/img:1`;
        if (t === "skopeo") rows.push({ run, op: "push", tool: t, ...skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", `oci:${layout}:bench`, `docker://${dest}`) });
        else {
          await rm(join(seedRoot, "registry"), { recursive: true, force: true });
          rows.push({ run, op: "push", tool: t, ...tsbuild(binOf(t), "push", `${host}/seed/img:1`, dest, "--root", seedRoot, "-q") });
        }
      }
      // Stop this run's target registry and drop what it stored: later measurements start from the same state.
      targetProc.kill("SIGTERM");
      await new Promise((r) => targetProc.once("exit", r));
      await rm(join(tmp, `target-${run}-data`), { recursive: true, force: true });
    }
    if (only.includes("pull")) {
      // Pull: into an empty root / an empty OCI layout.
      for (const t of tools) {
        const dest = join(tmp, `pull-${t}-${run}`);
        if (t === "skopeo") rows.push({ run, op: "pull", tool: t, ...skopeo("copy", "--preserve-digests", "--src-tls-verify=false", `docker://${host}/seed/img:1`, `oci:${dest}:x`) });
        else rows.push({ run, op: "pull", tool: t, ...tsbuild(binOf(t), "pull", `${host}/seed/img:1`, "--root", dest, "-q") });
        await rm(dest, { recursive: true, force: true });
      }
    }
    console.log(`run ${run} done, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  }
  const mbps = (ms) => ((totalMb / ms) * 1000).toFixed(0);
  console.log("run  op    tool         wall ms (MB/s)   CPU ms   RSS MB   wall ratio to skopeo");
  for (const r of rows) {
    const sk = rows.find((x) => x.run === r.run && x.op === r.op && x.tool === "skopeo");
    console.log(`${String(r.run).padEnd(4)} ${r.op.padEnd(5)} ${r.tool.padEnd(12)} ${r.ms.toFixed(0).padStart(7)} (${mbps(r.ms).padStart(4)})   ${r.cpu.toFixed(0).padStart(6)}   ${r.rssMb.toFixed(0).padStart(6)}   ${(r.ms / sk.ms).toFixed(2)}×`);
  }
  const best = (op, tool, k = "ms") => Math.min(...rows.filter((r) => r.op === op && r.tool === tool).map((r) => r[k]));
  // Median of the per-run ratios: each run pairs tools measured within the same minute (load drifts between runs).
  const medianRatio = (op, tool) => {
    const xs = rows.filter((r) => r.op === op && r.tool === tool)
      .map((r) => r.ms / rows.find((x) => x.run === r.run && x.op === op && x.tool === "skopeo").ms).sort((a, b) => a - b);
    return xs.length % 2 ? xs[(xs.length - 1) / 2] : (xs[xs.length / 2 - 1] + xs[xs.length / 2]) / 2;
  };
  for (const op of only) {
    for (const v of variants) {
      console.log(`${op} ${v.name}: best-of-${runs} ${(best(op, v.name) / best(op, "skopeo")).toFixed(2)}×, median of run ratios ${medianRatio(op, v.name).toFixed(2)}×, best CPU ${best(op, v.name, "cpu").toFixed(0)} ms vs skopeo ${best(op, "skopeo", "cpu").toFixed(0)} ms (target ≤ 1.10×)`);
    }
  }
} finally {
  for (const r of registries) r.kill("SIGTERM");
  await rm(tmp, { recursive: true, force: true });
}
