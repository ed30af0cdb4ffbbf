#!/usr/bin/env node
// Registry throughput: push and pull a ~500 MB image (random, incompressible layers) to a local docker-registry
// with `tsbuild` (bin/tsbuild.js, the bundle) and with `skopeo copy`, side by side in the same run, and print the
// time ratio tsbuild/skopeo (target: ≤ 1.1). Usage: node bench/registry.mjs [--mb 500] [--layers 5] [--runs 1]
// Needs: docker-registry, skopeo (Debian), and `node scripts/bundle.mjs` first.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdtemp, mkdir, rm, writeFile, rename } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "..");
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const totalMb = arg("mb", 500);
const layers = arg("layers", 5);
const runs = arg("runs", 1);

for (const [bin, pkg] of [["docker-registry", "docker-registry"], ["skopeo", "skopeo"]]) {
  if (spawnSync("sh", ["-c", `command -v ${bin}`]).status !== 0) {
    console.error(`${bin} is missing: apt-get install ${pkg}`);
    process.exit(1);
  }
}
if (!existsSync(join(repo, "dist/cli.js"))) {
  console.error("dist/cli.js is missing: run node scripts/bundle.mjs");
  process.exit(1);
}

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

function timed(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, DOCKER_CONFIG: join(tmp, "docker") } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return ms;
}
const tsbuild = (...args) => timed(process.execPath, [join(repo, "bin/tsbuild.js"), ...args]);
const skopeo = (...args) => timed("skopeo", args);

try {
  const host = await startRegistry("seed");
  const layout = join(tmp, "layout");
  console.log(`bench/registry: building a ${totalMb} MB image (${layers} random layers)…`);
  await makeLayout(layout);
  // Seed the registry and a tsbuild root with the image.
  skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", `oci:${layout}:bench`, `docker://${host}/seed/img:1`);
  const seedRoot = join(tmp, "seed-root");
  tsbuild("pull", `${host}/seed/img:1`, "--root", seedRoot, "-q");

  const rows = [];
  for (let run = 1; run <= runs; run++) {
    // Push: a fresh registry each run (skopeo's blob-info cache would mount from the previous run); no mount hints.
    const target = await startRegistry(`target-${run}`);
    await rm(join(seedRoot, "registry"), { recursive: true, force: true });
    const tPush = tsbuild("push", `${host}/seed/img:1`, `${target}/tsb-push-${run}/img:1`, "--root", seedRoot, "-q");
    const sPush = skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", `oci:${layout}:bench`, `docker://${target}/sk-push-${run}/img:1`);
    // Pull: into an empty root / an empty OCI layout.
    const tPull = tsbuild("pull", `${host}/seed/img:1`, "--root", join(tmp, `pull-root-${run}`), "-q");
    const sPull = skopeo("copy", "--preserve-digests", "--src-tls-verify=false", `docker://${host}/seed/img:1`, `oci:${join(tmp, `pull-layout-${run}`)}:x`);
    rows.push({ run, tPush, sPush, tPull, sPull });
    await rm(join(tmp, `pull-root-${run}`), { recursive: true, force: true });
    await rm(join(tmp, `pull-layout-${run}`), { recursive: true, force: true });
  }
  const mbps = (ms) => ((totalMb / ms) * 1000).toFixed(0);
  console.log("run  op    tsbuild ms (MB/s)   skopeo ms (MB/s)   ratio tsbuild/skopeo");
  for (const r of rows) {
    console.log(`${String(r.run).padEnd(4)} push  ${r.tPush.toFixed(0).padStart(7)} (${mbps(r.tPush)})      ${r.sPush.toFixed(0).padStart(7)} (${mbps(r.sPush)})     ${(r.tPush / r.sPush).toFixed(2)}×`);
    console.log(`${String(r.run).padEnd(4)} pull  ${r.tPull.toFixed(0).padStart(7)} (${mbps(r.tPull)})      ${r.sPull.toFixed(0).padStart(7)} (${mbps(r.sPull)})     ${(r.tPull / r.sPull).toFixed(2)}×`);
  }
  const best = (k) => Math.min(...rows.map((r) => r[k]));
  console.log(`best-of-${runs}: push ${(best("tPush") / best("sPush")).toFixed(2)}×, pull ${(best("tPull") / best("sPull")).toFixed(2)}× (target ≤ 1.10×)`);
} finally {
  for (const r of registries) r.kill("SIGTERM");
  await rm(tmp, { recursive: true, force: true });
}
