#!/usr/bin/env node
// Regenerate fixtures/conformance/<case>/expected.json with the reference builder: Docker's own BuildKit
// (Debian docker.io 20.10, a dockerd started by you, see fixtures/conformance/README.md). Never needed by CI.
//
//   DOCKER_HOST=unix:///tmp/tsb-dockerd/docker.sock node scripts/conformance/generate.mjs [case...]
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyboxRootfsTar, fileSha256 } from "./base-image.mjs";
import { BASE_IMAGE, archiveExpectation, listCases, prepareContext, startHttpServer } from "./lib.mjs";
import { formatExpectation } from "./format.mjs";

const docker = process.env.DOCKER ?? "/usr/bin/docker";
const env = { ...process.env, DOCKER_HOST: process.env.DOCKER_HOST ?? "unix:///tmp/tsb-dockerd/docker.sock", DOCKER_BUILDKIT: "1" };
const run = (args, opts = {}) => execFileSync(docker, args, { env, encoding: "utf8", maxBuffer: 1 << 28, ...opts });

// Builds run asynchronously: the web server of ADD http:// cases answers from this process's event loop.
const runAsync = (args) => new Promise((resolve, reject) => {
  const p = spawn(docker, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  p.stdout.resume();
  p.stderr.on("data", (d) => (stderr += d));
  p.on("error", reject);
  p.on("close", (status) => resolve({ status, stderr }));
});

const only = new Set(process.argv.slice(2));
const cases = listCases().filter((c) => only.size === 0 || only.has(c.name));
const serverVersion = run(["version", "--format", "{{.Server.Version}}"]).trim();

const baseTar = await busyboxRootfsTar();
const baseSha = fileSha256(baseTar);
run(["import", baseTar, BASE_IMAGE]);
const baseDiff = run(["image", "inspect", BASE_IMAGE, "--format", "{{index .RootFS.Layers 0}}"]).trim();
if (baseDiff !== `sha256:${baseSha}`) throw new Error(`docker import changed the base layer: ${baseDiff} != sha256:${baseSha}`);

const work = mkdtempSync(join(tmpdir(), "tsb-conf-gen-"));
const server = await startHttpServer();
let failed = 0;
try {
  for (const c of cases) {
    const ctx = prepareContext(c, join(work, c.name, "context"));
    const args = ["build", "--network", "host", "--no-cache", "--progress", "plain", "-f", c.dockerfile, "-t", c.imageName];
    for (const [k, v] of Object.entries(c.buildArgs)) args.push("--build-arg", `${k}=${v}`);
    for (const [id, src] of Object.entries(c.secrets)) args.push("--secret", `id=${id},src=${src}`);
    if (c.target) args.push("--target", c.target);
    args.push(ctx);
    const r = await runAsync(args);
    if (r.status !== 0) {
      failed++;
      process.stderr.write(`${c.name}: docker build failed\n${r.stderr.split("\n").slice(-25).join("\n")}\n`);
      continue;
    }
    const saved = join(work, c.name, "image.tar");
    run(["save", "-o", saved, c.imageName]);
    const x = await archiveExpectation(saved, c.base);
    const out = { case: c.name, reference: { builder: `docker ${serverVersion} (embedded BuildKit, DOCKER_BUILDKIT=1)`, base: `${BASE_IMAGE} = docker import of busybox-rootfs.tar sha256:${baseSha}` }, ...x };
    writeFileSync(c.expectedPath, formatExpectation(out));
    process.stdout.write(`${c.name}: ${x.layers.length} layers, ${x.history.length} history entries, ${x.merged.changed.length} changed paths\n`);
  }
} finally {
  await server.close();
  rmSync(work, { recursive: true, force: true });
}
if (failed) {
  process.stderr.write(`${failed} case(s) failed to build\n`);
  process.exitCode = 1;
}
