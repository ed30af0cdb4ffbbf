/**
 * Layer compression and the byte-counting sha256 tap used to digest blobs in the same pass that writes them.
 * gzip: pigz (Debian `pigz`, all cores; its output does not depend on the thread count) or, without pigz,
 * Node's zlib (one core; different bytes). zstd: @cloudpss/zstd in process. Both deterministic per input+level.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { Duplex, PassThrough, Transform, type TransformCallback } from "node:stream";
import { constants, createGzip } from "node:zlib";
import { Compressor } from "@cloudpss/zstd";
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

let pigzAvailable: boolean | undefined;
function hasPigz(): boolean {
  pigzAvailable ??= spawnSync("pigz", ["--version"], { stdio: "ignore" }).status === 0;
  return pigzAvailable;
}

function pigzStream(level: number): Duplex {
  const child = spawn("pigz", ["-n", "-c", `-${level}`, "-p", String(Math.max(1, availableParallelism()))], { stdio: ["pipe", "pipe", "pipe"] });
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
    else duplex.destroy(new LayerError("TSB_LAYER_COMPRESS", `pigz failed: ${Buffer.concat(stderr).toString().trim()}`, "check free disk space and the pigz installation"));
  };
  child.stdout.on("end", () => { stdoutDone = true; finish(); });
  child.on("close", (code) => { exit = code; finish(); });
  child.on("error", (e) => duplex.destroy(e));
  duplex.on("close", () => { if (exit === undefined) child.kill(); });
  return duplex;
}

/** The compressor stream for a layer (identity for `none`). Levels: gzip 1–9 (default 6), zstd 1–19 (default 3). */
export function createCompressor(compression: Compression, level?: number, gzipBackend: "auto" | "pigz" | "zlib" = "auto"): Duplex {
  switch (compression) {
    case "none":
      return new PassThrough();
    case "zstd":
      return new Compressor(level ?? 3);
    case "gzip": {
      const l = level ?? 6;
      if (!Number.isInteger(l) || l < 1 || l > 9) {
        throw new LayerError("TSB_LAYER_LEVEL", `gzip level must be an integer 1–9, got ${String(l)}`, "pass a compression level between 1 and 9");
      }
      if (gzipBackend === "pigz" || (gzipBackend === "auto" && hasPigz())) return pigzStream(l);
      return createGzip({ level: l, strategy: constants.Z_DEFAULT_STRATEGY });
    }
  }
}
