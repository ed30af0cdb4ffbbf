/**
 * End-to-end test helpers: run the real CLI (`node bin/tsbuild.js`) against a private TSBUILD_ROOT, a real
 * docker-registry seeded with the offline base images (pushed with `tsbuild import` + `tsbuild push`), and check
 * results with real clients: skopeo (manifests, configs), umoci (unpack; `--rootless` when not root) and runc (run
 * the bundle). Works as root and as an unprivileged user (the CLI enters its own user namespace session).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { busyboxRootfsTar, minbaseRootfsTar, requireTool } from "./base-images.js";
import { startRegistry, type TestRegistry } from "./registry.js";

/** The repository checkout. */
export const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
/** The CLI under test (TSBUILD_E2E_CLI overrides, e.g. to test another bundle). */
export const CLI = process.env.TSBUILD_E2E_CLI ?? join(REPO, "bin", "tsbuild.js");
/** True when the tests run as an unprivileged user (the rootless pass). */
export const ROOTLESS = process.getuid?.() !== 0;

/** A directory under fixtures/e2e (or examples/ with `examples/NAME`). */
export function fixture(name: string): string {
  return name.startsWith("examples/") ? join(REPO, name) : join(REPO, "fixtures", "e2e", name);
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly root: string;
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** @default 180 s */
  readonly timeoutMs?: number;
  /** Written to the CLI's standard input, which is then closed (default: no standard input). */
  readonly input?: Buffer | string;
  /** Read standard output only up to this many bytes, then close the pipe (a reader that exits early). */
  readonly readBytes?: number;
}

/** Run `node bin/tsbuild.js ARGS` with TSBUILD_ROOT=root; never throws on a non-zero exit. */
export function tsbuild(args: readonly string[], opts: CliOptions): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, TSBUILD_ROOT: opts.root, NO_COLOR: "1", ...opts.env };
  for (const k of ["NODE_OPTIONS", "SOURCE_DATE_EPOCH", "TSBUILD_PROGRESS"]) if (!opts.env?.[k]) delete env[k];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? REPO, env, stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    const stdout = child.stdout!;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let got = 0;
    stdout.on("data", (b: Buffer) => {
      out.push(b);
      got += b.length;
      if (opts.readBytes !== undefined && got >= opts.readBytes) stdout.destroy();
    });
    stdout.on("error", () => {});
    child.stderr!.on("data", (b: Buffer) => err.push(b));
    if (opts.input !== undefined) {
      child.stdin!.on("error", () => {});
      child.stdin!.end(opts.input);
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 180_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** Throw with the CLI's output unless it exited 0. */
export function ok(r: CliResult, what = "tsbuild"): CliResult {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout.slice(0, 4000)}`);
  return r;
}

/** Run a tool synchronously; throw with its stderr on failure. */
export function tool(bin: string, args: readonly string[], opts: { cwd?: string; input?: string } = {}): string {
  const r = spawnSync(bin, args, { encoding: "utf8", maxBuffer: 64 << 20, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** `GOARCH` of this machine, for `--platform linux/<arch>` and config checks. */
export function hostArch(): string {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return map[process.arch] ?? process.arch;
}

/** The base images an e2e file needs in its registry. */
export type BaseImage = "busybox" | "debian";

/**
 * One test file's world: a temp dir, a build root, and a registry holding the base images (`REG/busybox:latest`,
 * `REG/debian:bookworm`). The build root starts empty, so FROM pulls from the registry.
 */
export class E2eWorld {
  readonly dir: string;
  readonly root: string;
  readonly registry: TestRegistry;

  private constructor(dir: string, registry: TestRegistry) {
    this.dir = dir;
    this.root = join(dir, "root");
    this.registry = registry;
  }

  /** Start a registry and push `images` to it through a throw-away root (`tsbuild import` + `tsbuild push`). */
  static async start(images: readonly BaseImage[] = ["busybox"]): Promise<E2eWorld> {
    for (const [bin, pkg] of [["skopeo", "skopeo"], ["umoci", "umoci"], ["runc", "runc"], ["getfattr", "attr"]] as const) requireTool(bin, pkg);
    const dir = mkdtempSync(join(tmpdir(), "tsbuild-e2e-"));
    const registry = await startRegistry();
    const world = new E2eWorld(dir, registry);
    const seed = join(dir, "seed-root");
    try {
      for (const img of images) {
        const tar = img === "busybox" ? await busyboxRootfsTar() : await minbaseRootfsTar();
        const name = img === "busybox" ? "busybox:latest" : "debian:bookworm";
        ok(await tsbuild(["import", tar, name], { root: seed }), `tsbuild import ${name}`);
        ok(await tsbuild(["push", "-q", name, world.ref(name)], { root: seed }), `tsbuild push ${name}`);
      }
    } catch (err) {
      await world.stop();
      throw err;
    } finally {
      rmSync(seed, { recursive: true, force: true });
    }
    return world;
  }

  /** Import a base image straight into this world's root under `name` (no registry involved). */
  async importBase(img: BaseImage, name: string): Promise<void> {
    const tar = img === "busybox" ? await busyboxRootfsTar() : await minbaseRootfsTar();
    ok(await tsbuild(["import", tar, name], { root: this.root }), `tsbuild import ${name}`);
  }

  /** `127.0.0.1:PORT/name`. */
  ref(name: string): string {
    return `${this.registry.host}/${name}`;
  }

  /** Run the CLI with this world's root. */
  run(args: readonly string[], opts: Partial<CliOptions> = {}): Promise<CliResult> {
    return tsbuild(args, { root: this.root, ...opts });
  }

  /** A fresh temp dir inside the world. */
  tmp(prefix = "t-"): string {
    return mkdtempSync(join(this.dir, prefix));
  }

  async stop(): Promise<void> {
    await this.registry.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `skopeo inspect` of a transport reference (`docker://…`, `oci-archive:…`, `oci:DIR:TAG`, `docker-archive:…`). */
export function skopeoInspect(ref: string): Record<string, any> {
  return JSON.parse(tool("skopeo", ["inspect", ...tlsFlag(ref), ref]));
}

/** The image config as skopeo reads it, raw bytes (its sha256 is the image ID) and parsed. */
export function skopeoConfig(ref: string): { raw: string; config: Record<string, any> } {
  const raw = tool("skopeo", ["inspect", "--config", "--raw", ...tlsFlag(ref), ref]);
  return { raw, config: JSON.parse(raw) };
}

function tlsFlag(ref: string): string[] {
  return ref.startsWith("docker://") ? ["--tls-verify=false"] : [];
}

/** Copy any skopeo source into an OCI layout directory `DIR:e2e`; returns the `DIR:e2e` reference. */
export function toOciDir(src: string, dir: string): string {
  const dest = `${dir}:e2e`;
  tool("skopeo", ["copy", "-q", ...(src.startsWith("docker://") ? ["--src-tls-verify=false"] : []), src, `oci:${dest}`]);
  return dest;
}

/** `umoci unpack` an OCI layout `DIR:TAG` into a runtime bundle (rootless as non-root); returns the bundle path. */
export function unpack(ociDirTag: string, bundle: string): string {
  tool("umoci", ["unpack", ...(ROOTLESS ? ["--rootless"] : []), "--image", ociDirTag, bundle]);
  return bundle;
}

/**
 * `runc run` the bundle (process.terminal=false; rootless: umoci's rootless config and a private `--root`), with
 * `args` replacing the image's command when given. Rootless runs as container root: the bundle maps only the
 * invoking user, so the image's USER cannot exist there.
 */
export function runBundle(bundle: string, args?: readonly string[]): CliResult {
  const cfgPath = join(bundle, "config.json");
  const cfg = JSON.parse(readFileSync(cfgPath, "utf8"));
  cfg.process.terminal = false;
  if (args) cfg.process.args = [...args];
  if (ROOTLESS) cfg.process.user = { uid: 0, gid: 0 };
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const state = mkdtempSync(join(tmpdir(), "tsbuild-runc-"));
  try {
    const id = `tsbuild-e2e-${process.pid}-${Date.now()}`;
    const r = spawnSync("runc", ["--root", state, "run", "-b", bundle, id], { encoding: "utf8", timeout: 60_000 });
    if (r.error) throw r.error;
    return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

/**
 * Owner of a file in an unpacked rootfs as the image says, `uid:gid`. As root umoci keeps owners; rootless umoci
 * owns everything itself and keeps other owners in the `user.rootlesscontainers` xattr (protobuf: uid = 1,
 * gid = 2; 2^32-1 means "unchanged", i.e. 0).
 */
export function ownerOf(path: string): string {
  const st = lstatSync(path);
  if (!ROOTLESS) return `${st.uid}:${st.gid}`;
  const r = spawnSync("getfattr", ["--only-values", "-h", "-n", "user.rootlesscontainers", path]);
  if (r.status !== 0 || r.stdout.length === 0) return "0:0";
  const buf: Buffer = r.stdout;
  const ids: Record<number, number> = {};
  let i = 0;
  while (i < buf.length) {
    const tag = buf[i++]!;
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = buf[i++]!;
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    ids[tag >> 3] = v;
  }
  const norm = (v: number | undefined): number => (v === undefined || v === 0xffffffff ? 0 : v);
  return `${norm(ids[1])}:${norm(ids[2])}`;
}

/** Permission bits (and setuid/setgid/sticky) of a path, as `0644`. */
export function modeOf(path: string): string {
  return (lstatSync(path).mode & 0o7777).toString(8).padStart(4, "0");
}

/** Every layer blob of an OCI layout directory, uncompressed, concatenated (for "appears in no layer" checks). */
export function layerBytes(ociDir: string): Buffer {
  const index = JSON.parse(readFileSync(join(ociDir, "index.json"), "utf8"));
  const blob = (d: string): Buffer => readFileSync(join(ociDir, "blobs", ...d.split(":")));
  const parts: Buffer[] = [];
  for (const m of index.manifests) {
    const manifest = JSON.parse(blob(m.digest).toString());
    for (const l of manifest.layers) {
      const b = blob(l.digest);
      parts.push(b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b);
    }
    parts.push(blob(manifest.config.digest));
  }
  return Buffer.concat(parts);
}

/** Every file under `dir` (recursively), concatenated: for "secret appears in no log file" checks. */
export function treeBytes(dir: string): Buffer {
  if (!existsSync(dir)) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && statSync(p).size < 64 << 20) parts.push(readFileSync(p));
    }
  };
  walk(dir);
  return Buffer.concat(parts);
}

/** One parsed `--progress=rawjson` line. */
export interface RawEvent {
  readonly type: string;
  readonly name?: string;
  readonly digest?: string;
  readonly source?: unknown;
  readonly [k: string]: unknown;
}

/** Parse rawjson progress (stderr); every line must be JSON. */
export function rawEvents(stderr: string): RawEvent[] {
  return stderr.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as RawEvent);
}

/** Names of Dockerfile steps (vertices with a source range, FROM included) that ran, and those taken from cache. */
export function stepOutcomes(events: readonly RawEvent[]): { ran: string[]; cached: string[] } {
  const steps = (type: string): string[] =>
    [...new Set(events.filter((e) => e.type === type && /^\[[^\]]*\d+\/\d+\]/.test(e.name ?? "")).map((e) => e.name!))].sort();
  const cached = steps("vertex.cached");
  return { ran: steps("vertex.started").filter((n) => !cached.includes(n)), cached };
}
