/**
 * Test helpers: start/stop a real `docker-registry serve` (Debian docker-registry) on a free 127.0.0.1 port with
 * storage in a temp dir (open, htpasswd Basic auth, or token auth), and build small random OCI images straight
 * into a content store with tar-stream + gzip. Tools that are missing fail the test with the Debian package name.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { Agent, request } from "undici";
import type { ContentStore } from "../../src/store/index.js";
import type { Descriptor, ImageConfig, Index, Manifest, Platform } from "../../src/image/types.js";
import { MediaType } from "../../src/image/types.js";
import { sha256, type Digest } from "../../src/util/digest.js";

/** Fail (never skip) when a tool is missing. */
export function requireTool(bin: string, debianPackage: string): void {
  const r = spawnSync("sh", ["-c", `command -v ${bin}`]);
  if (r.status !== 0) throw new Error(`${bin} is missing: install the Debian package '${debianPackage}' (apt-get install ${debianPackage})`);
}

/** A free TCP port on 127.0.0.1 (bind to 0, read, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export type RegistryAuth =
  | { readonly kind: "none" }
  | { readonly kind: "htpasswd"; readonly users: Readonly<Record<string, string>> }
  | { readonly kind: "token"; readonly realm: string; readonly service: string; readonly issuer: string; readonly certFile: string };

/** A running registry. */
export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** Start `docker-registry serve` with the given auth on a free port; resolves once `/v2/` answers. */
export async function startRegistry(auth: RegistryAuth = { kind: "none" }): Promise<TestRegistry> {
  requireTool("docker-registry", "docker-registry");
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-registry-"));
  const port = await freePort();
  let authYaml = "";
  if (auth.kind === "htpasswd") {
    requireTool("htpasswd", "apache2-utils");
    const lines: string[] = [];
    for (const [u, p] of Object.entries(auth.users)) {
      const r = spawnSync("htpasswd", ["-Bbn", "-C", "4", u, p], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
      lines.push(r.stdout.trim());
    }
    await writeFile(join(dir, "htpasswd"), `${lines.join("\n")}\n`);
    authYaml = `auth:\n  htpasswd:\n    realm: tsbuild-test\n    path: ${join(dir, "htpasswd")}\n`;
  } else if (auth.kind === "token") {
    authYaml = `auth:\n  token:\n    realm: ${auth.realm}\n    service: ${auth.service}\n    issuer: ${auth.issuer}\n    rootcertbundle: ${auth.certFile}\n`;
  }
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, "data")}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
${authYaml}`;
  await writeFile(join(dir, "config.yml"), config);
  const child = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-4000)));
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  const probe = new Agent({ pipelining: 0 });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await request(`http://${host}/v2/`, { dispatcher: probe });
      await res.body.dump();
      if (res.statusCode === 200 || res.statusCode === 401) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await probe.destroy();
      child.kill("SIGKILL");
      throw new Error(`docker-registry did not answer on ${host} within 15 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await probe.destroy();
  return {
    host,
    port,
    dir,
    process: child,
    async stop() {
      const running = (): boolean => child.exitCode === null && child.signalCode === null;
      if (running() && child.pid !== undefined) {
        const exited = new Promise((r) => child.once("exit", r));
        process.kill(child.pid, "SIGTERM");
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 3000)))]);
        clearTimeout(timer);
        if (running()) process.kill(child.pid, "SIGKILL");
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A gzipped tar layer with `files` entries of random content (`bytes` each). Deterministic headers. */
export async function makeLayer(files: number, bytes: number, prefix = "f"): Promise<{ gz: Buffer; diffId: Digest }> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => pack.on("end", () => r()));
  for (let i = 0; i < files; i++) {
    pack.entry({ name: `${prefix}${i}.bin`, size: bytes, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, randomBytes(bytes));
  }
  pack.finalize();
  await done;
  const raw = Buffer.concat(chunks);
  return { gz: gzipSync(raw, { level: 1 }), diffId: sha256(raw) };
}

export interface TestImageOptions {
  readonly layers?: number;
  readonly filesPerLayer?: number;
  readonly fileBytes?: number;
  readonly platform?: Platform;
  /** Docker v2 schema 2 media types instead of OCI. */
  readonly docker?: boolean;
}

/** Write a random single-platform image (layers, config, manifest) into `store`; returns the manifest descriptor. */
export async function writeTestImage(store: ContentStore, opts: TestImageOptions = {}): Promise<Descriptor> {
  const platform = opts.platform ?? { os: "linux", architecture: "amd64" };
  const layerType = opts.docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip;
  const layers: Descriptor[] = [];
  const diffIds: Digest[] = [];
  for (let i = 0; i < (opts.layers ?? 2); i++) {
    const { gz, diffId } = await makeLayer(opts.filesPerLayer ?? 3, opts.fileBytes ?? 4096, `l${i}-`);
    const info = await store.putBytes(gz);
    layers.push({ mediaType: layerType, digest: info.digest, size: info.size });
    diffIds.push(diffId);
  }
  const config: ImageConfig = {
    architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Cmd: ["/bin/sh"], Labels: { nonce: randomBytes(8).toString("hex") } },
    rootfs: { type: "layers", diff_ids: diffIds },
  };
  const cfg = await store.putBytes(JSON.stringify(config));
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: opts.docker ? MediaType.dockerManifest : MediaType.ociManifest,
    config: { mediaType: opts.docker ? MediaType.dockerConfig : MediaType.ociConfig, digest: cfg.digest, size: cfg.size },
    layers,
  };
  const m = await store.putBytes(JSON.stringify(manifest));
  return { mediaType: manifest.mediaType!, digest: m.digest, size: m.size, platform };
}

/** Write a multi-platform index over images for `platforms` into `store`; returns the index descriptor. */
export async function writeTestIndex(store: ContentStore, platforms: readonly Platform[], opts: TestImageOptions = {}): Promise<Descriptor> {
  const manifests: Descriptor[] = [];
  for (const platform of platforms) manifests.push(await writeTestImage(store, { ...opts, platform }));
  const index: Index = { schemaVersion: 2, mediaType: opts.docker ? MediaType.dockerManifestList : MediaType.ociIndex, manifests };
  const info = await store.putBytes(JSON.stringify(index));
  return { mediaType: index.mediaType!, digest: info.digest, size: info.size };
}
