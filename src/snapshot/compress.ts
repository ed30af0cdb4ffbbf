/**
 * Layer compression and the byte-counting sha256 tap used to digest blobs in the same pass that writes them.
 * gzip: pigz (Debian `pigz`, all cores; its output does not depend on the thread count) or, without pigz,
 * Node's zlib (one core; different bytes). zstd: the Debian `zstd` CLI with -T (its multi-threaded format does not
 * depend on the thread count: -T1, -T2 and -T4 give the same bytes) or, without it, @cloudpss/zstd in process
 * (single-threaded format; different bytes). Every backend is deterministic for the same input and level.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { Duplex, PassThrough, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { constants, createGzip } from "node:zlib";
import type { Digest } from "../util/digest.js";
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
function toolStream(cmd: string, args: readonly string[]): Duplex {
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
    else duplex.destroy(new LayerError("TSB_LAYER_COMPRESS", `${cmd} failed: ${Buffer.concat(stderr).toString().trim()}`, `check free disk space and the ${cmd} installation`));
  };
  child.stdout.on("end", () => { stdoutDone = true; finish(); });
  child.on("close", (code) => { exit = code; finish(); });
  child.on("error", (e) => duplex.destroy(e));
  duplex.on("close", () => { if (exit === undefined) child.kill(); });
  return duplex;
}

/** Which implementation compresses: `auto` uses the Debian tool (pigz, zstd) when installed. */
export interface CompressorBackends {
  readonly gzip?: "auto" | "pigz" | "zlib";
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
