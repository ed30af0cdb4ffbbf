/**
 * Layer compression and the byte-counting sha256 tap used to digest blobs in the same pass that writes them.
 * gzip: tsbuild-deflate (native/deflate.c, built with `cc` on first use; Debian `libdeflate-dev` to build,
 * `libdeflate0` to run): the tar cut into 1 MiB pieces, each its own gzip member, compressed by libdeflate on all
 * cores; under half of pigz's CPU time and slightly smaller output, and the bytes depend on input and level only. A
 * multi-member gzip is one gzip file (RFC 1952 §2.2): gzip, pigz, zlib and Go's gzip reader (docker, containerd,
 * skopeo, umoci) read it whole. When it cannot be built: pigz (Debian `pigz`, all cores; its output does not
 * depend on the thread count) or, without pigz, Node's zlib (one core). zstd: the Debian `zstd` CLI with -T (its
 * multi-threaded format does not depend on the thread count: -T1, -T2 and -T4 give the same bytes) or, without
 * it, @cloudpss/zstd in process (single-threaded format). Every backend is deterministic for the same input and
 * level, but each gives different bytes: a machine without libdeflate-dev writes other layer digests.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { Duplex, PassThrough, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { constants, createGzip } from "node:zlib";
import type { Digest } from "../util/digest.js";
import { buildNative } from "../util/native-build.js";
import { LayerError } from "./errors.js";
import type { Compression } from "./types.js";

export const LAYER_MEDIA_TYPES: Readonly<Record<Compression, string>> = {
  gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  none: "application/vnd.oci.image.layer.v1.tar",
};

/** Pass-through that hashes and counts what flows through it. */
export class DigestTap extends Transform {
  readonly #hash = createHash("sha256");
  #size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    cb(null, chunk);
  }
  /** Valid once the stream has finished. */
  result(): { digest: Digest; size: number } {
    return { digest: `sha256:${this.#hash.digest("hex")}` as Digest, size: this.#size };
  }
}

const available = new Map<string, boolean>();
function hasTool(cmd: string): boolean {
  let ok = available.get(cmd);
  if (ok === undefined) {
    ok = spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;
    available.set(cmd, ok);
  }
  return ok;
}

/** A compressor child process as a Duplex: stdin ← tar, stdout → blob; a non-zero exit becomes TSB_LAYER_COMPRESS. */
function toolStream(cmd: string, args: readonly string[], name = cmd): Duplex {
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
  const stderr: Buffer[] = [];
  child.stderr.on("data", (b: Buffer) => stderr.push(b));
  const out = new PassThrough();
  child.stdout.pipe(out, { end: false });
  const duplex = Duplex.from({ writable: child.stdin, readable: out });
  let stdoutDone = false;
  let exit: number | null | undefined;
  const finish = (): void => {
    if (!stdoutDone || exit === undefined) return;
    if (exit === 0) out.end();
    else duplex.destroy(new LayerError("TSB_LAYER_COMPRESS", `${name} failed: ${Buffer.concat(stderr).toString().trim()}`, `check free disk space and the ${name} installation`));
  };
  child.stdout.on("end", () => { stdoutDone = true; finish(); });
  child.on("close", (code) => { exit = code; finish(); });
  child.on("error", (e) => duplex.destroy(e));
  duplex.on("close", () => { if (exit === undefined) child.kill(); });
  return duplex;
}

/**
 * The gzip tool built from native/deflate.c, or why it could not be built (tried once per process).
 * `TSBUILD_DEFLATE` names a prebuilt binary instead (for images without a compiler, like `TSBUILD_HELPER`).
 */
let deflate: { readonly path: string } | { readonly why: string } | undefined;
function deflateTool(): { readonly path: string } | { readonly why: string } {
  if (!deflate) {
    const env = process.env.TSBUILD_DEFLATE;
    if (env) return (deflate = { path: env });
    try {
      deflate = { path: buildNative({ name: "tsbuild-deflate", sources: (f) => f === "deflate.c", libs: ["-ldeflate", "-lpthread"] }) };
    } catch (e) {
      deflate = { why: (e as Error).message };
    }
  }
  return deflate;
}

/** The path of the built tsbuild-deflate; TSB_LAYER_COMPRESS when it cannot be built. */
export function deflateToolPath(): string {
  const tool = deflateTool();
  if ("path" in tool) return tool.path;
  throw new LayerError("TSB_LAYER_COMPRESS", `cannot build the libdeflate gzip compressor: ${tool.why}`, DEFLATE_HINT);
}

/** Which gzip backend `auto` uses in this process, and, when it is not libdeflate, why and how to get it. */
export interface GzipBackendStatus {
  readonly backend: "libdeflate" | "pigz" | "zlib";
  /** Why tsbuild-deflate is not used (its build failure), when it is not. */
  readonly reason?: string;
  /** What to install to get the fast backend, when it is not active. */
  readonly hint?: string;
}

const DEFLATE_HINT = "install libdeflate-dev and a C compiler (Debian: apt-get install libdeflate-dev gcc libc6-dev) for the libdeflate gzip backend";

/** The gzip backend of `auto` (builds tsbuild-deflate if it is not built yet). */
export function gzipBackendStatus(): GzipBackendStatus {
  const tool = deflateTool();
  if ("path" in tool) return { backend: "libdeflate" };
  return { backend: hasTool("pigz") ? "pigz" : "zlib", reason: tool.why, hint: DEFLATE_HINT };
}

/** Which implementation compresses: `auto` uses tsbuild-deflate for gzip when it builds, else the Debian tool (pigz, zstd) when installed. */
export interface CompressorBackends {
  readonly gzip?: "auto" | "libdeflate" | "pigz" | "zlib";
  readonly zstd?: "auto" | "cli" | "lib";
}

/** The compressor stream for a layer (identity for `none`). Levels: gzip 1–9 (default 6), zstd 1–19 (default 3). */
export function createCompressor(compression: Compression, level?: number, backends: CompressorBackends = {}): Duplex {
  const threads = String(Math.max(2, availableParallelism()));
  switch (compression) {
    case "none":
      return new PassThrough();
    case "zstd": {
      const l = level ?? 3;
      if (!Number.isInteger(l) || l < 1 || l > 19) {
        throw new LayerError("TSB_LAYER_LEVEL", `zstd level must be an integer 1–19, got ${String(l)}`, "pass a compression level between 1 and 19");
      }
      const backend = backends.zstd ?? "auto";
      if (backend === "cli" || (backend === "auto" && hasTool("zstd"))) return toolStream("zstd", ["-q", "-c", `-${l}`, `-T${threads}`, "--no-progress"]);
      return lazyStream(async () => new (await import("@cloudpss/zstd")).Compressor(l));
    }
    case "gzip": {
      const l = level ?? 6;
      if (!Number.isInteger(l) || l < 1 || l > 9) {
        throw new LayerError("TSB_LAYER_LEVEL", `gzip level must be an integer 1–9, got ${String(l)}`, "pass a compression level between 1 and 9");
      }
      const backend = backends.gzip ?? "auto";
      if (backend === "libdeflate" || (backend === "auto" && "path" in deflateTool())) {
        return toolStream(deflateToolPath(), [`-${l}`, "-p", threads], "tsbuild-deflate");
      }
      if (backend === "pigz" || (backend === "auto" && hasTool("pigz"))) return toolStream("pigz", ["-n", "-c", `-${l}`, "-p", threads]);
      return createGzip({ level: l, strategy: constants.Z_DEFAULT_STRATEGY });
    }
  }
}

/**
 * A duplex over a transform made asynchronously (the zstd addon is imported on first use, not at start-up): writes
 * wait in the outer buffer until it exists; its errors destroy the outer stream.
 */
function lazyStream(make: () => Promise<Duplex>): Duplex {
  const input = new PassThrough();
  const output = new PassThrough();
  const outer = Duplex.from({ writable: input, readable: output });
  make().then(
    (inner) => pipeline(input, inner, output).catch((e: unknown) => outer.destroy(e as Error)),
    (e: unknown) => outer.destroy(e as Error),
  );
  return outer;
}
