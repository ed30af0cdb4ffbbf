/**
 * Reading archives whose kind is known only from their bytes, shared by ADD's extraction (ops), context archives
 * (context) and image imports (image): peeking at a stream's first bytes without losing them, compression by magic
 * bytes (moby go-archive's DetectCompression), the tar header check Go's tar.Reader applies, and decompression.
 */
import { spawn } from "node:child_process";
import { PassThrough, Readable, type Transform } from "node:stream";
import { createGunzip } from "node:zlib";

/** Read the first `n` bytes of a stream (fewer at its end; possibly more) and give back a stream of all of it. */
export async function peek(source: AsyncIterable<Uint8Array | string>, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = source[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = Buffer.from(r.value);
    parts.push(b);
    len += b.length;
  }
  const head = Buffer.concat(parts);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.from(r.value);
    }
  }
  return { head, stream: Readable.from(all(), { objectMode: false }) };
}

/** Compression of a stream, by its first bytes. */
export type Compression = "gzip" | "bzip2" | "xz" | "zstd" | "none";

export function detectCompression(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.subarray(0, 3).toString("latin1") === "BZh") return "bzip2";
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return "xz";
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return "zstd";
  return "none";
}

/** Whether a 512-byte block is a tar header with a valid checksum (what Go's tar.Reader.Next accepts). */
export function isTarHeader(block: Buffer): boolean {
  if (block.length < 512 || block.subarray(0, 512).every((b) => b === 0)) return false;
  const field = block.subarray(148, 156).toString("latin1").replace(/[\0 ]+$/, "").trim();
  if (!/^[0-7]+$/.test(field)) return false;
  const want = Number.parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

/** The errors a caller's room reports when xz or bzip2 cannot decompress. */
export interface DecompressErrors {
  /** The tool could not be started (`hint`: the Debian package to install). */
  cannotRun(tool: "xz" | "bzip2", hint: string, cause: Error): Error;
  /** The tool exited non-zero: a corrupt or truncated archive. */
  failed(tool: "xz" | "bzip2", exitCode: number | null): Error;
}

/**
 * The decompressed bytes of `input`: gzip with zlib, zstd with its addon (loaded on demand), xz and bzip2 through the
 * Debian tools. A read error of `input` ends the output with that error; destroying the output stops the tool.
 */
export async function decompress(input: Readable, kind: Compression, errors: DecompressErrors): Promise<Readable> {
  switch (kind) {
    case "none":
      return input;
    case "gzip":
      return input.pipe(createGunzip());
    case "zstd": {
      const { Decompressor } = await import("@cloudpss/zstd");
      return input.pipe(new Decompressor() as unknown as Transform);
    }
    case "bzip2":
    case "xz": {
      const child = spawn(kind, ["-dc"], { stdio: ["pipe", "pipe", "ignore"] });
      const out = new PassThrough();
      input.pipe(child.stdin);
      child.stdin.on("error", () => {});
      input.on("error", (err) => out.destroy(err));
      child.stdout.pipe(out, { end: false });
      child.on("error", (err) => out.destroy(errors.cannotRun(kind, `apt-get install ${kind === "xz" ? "xz-utils" : "bzip2"}`, err)));
      child.on("close", (code) => (code === 0 ? out.end() : out.destroy(errors.failed(kind, code))));
      out.on("close", () => {
        input.destroy();
        if (child.exitCode === null) child.kill();
      });
      return out;
    }
  }
}
