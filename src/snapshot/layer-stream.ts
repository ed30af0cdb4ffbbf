/**
 * Reading side of layer tars: compression detection by magic bytes, and a tar-stream extractor that also keeps
 * each entry's raw PAX records (tar-stream decodes PAX values as UTF-8 text, which corrupts binary xattrs).
 */
import { PassThrough, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";

/** Read the first `n` bytes without consuming them. */
export function peek(stream: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let len = 0;
    const finish = (ended: boolean): void => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", reject);
      const all = Buffer.concat(chunks);
      if (ended) return resolve({ head: all.subarray(0, n), stream: Readable.from(all.length ? [all] : []) });
      stream.pause();
      stream.unshift(all);
      resolve({ head: all.subarray(0, n), stream });
    };
    const onData = (c: Buffer): void => {
      chunks.push(c);
      len += c.length;
      if (len >= n) finish(false);
    };
    const onEnd = (): void => finish(true);
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("error", reject);
  });
}

/** Decompress a layer blob whatever its format: gzip (1f 8b), zstd (28 b5 2f fd) or a plain tar. */
export async function decompressLayer(input: Readable): Promise<{ stream: Readable; format: "gzip" | "zstd" | "none" }> {
  const { head, stream } = await peek(input, 4);
  if (head[0] === 0x1f && head[1] === 0x8b) return { stream: stream.pipe(createGunzip()), format: "gzip" };
  if (head.equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) {
    // The zstd addon costs tens of milliseconds to load: only when a zstd layer shows up.
    const { Decompressor } = await import("@cloudpss/zstd");
    return { stream: stream.pipe(new Decompressor()), format: "zstd" };
  }
  return { stream: stream.pipe(new PassThrough()), format: "none" };
}

/** PAX records of one entry with raw values: key → bytes. */
export type RawPax = ReadonlyMap<string, Buffer>;

export function parsePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length) {
    const sp = buf.indexOf(0x20, off);
    if (sp < 0) break;
    const len = Number(buf.subarray(off, sp).toString("latin1"));
    if (!Number.isInteger(len) || len <= sp - off || off + len > buf.length) break;
    const rec = buf.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(rec.subarray(0, eq).toString("utf8"), Buffer.from(rec.subarray(eq + 1)));
    off += len;
  }
  return out;
}

interface ExtractInternals {
  _header: { type: string } | null;
  _decodeLongHeader(buf: Buffer): void;
}

/**
 * tar-stream's extractor (header names read as latin1) plus `rawPax()`: the raw PAX records that applied to the
 * entry last emitted.
 * Relies on tar-stream 3.2's `_decodeLongHeader` hook (pinned exactly; covered by the xattr round-trip test).
 */
export function createExtract(): { extract: tar.Extract; rawPax: () => RawPax } {
  // Header names as latin1 (one character per byte): apply turns them back into the bytes (raw-names.ts).
  const extract = tar.extract({ filenameEncoding: "latin1" } as Parameters<typeof tar.extract>[0]);
  const internals = extract as unknown as ExtractInternals;
  const original = internals._decodeLongHeader.bind(extract);
  let pending = new Map<string, Buffer>();
  let current: RawPax = new Map();
  internals._decodeLongHeader = (buf: Buffer): void => {
    if (internals._header?.type === "pax-header") pending = parsePax(buf);
    original(buf);
  };
  extract.on("entry", () => {
    current = pending;
    pending = new Map();
  });
  return { extract, rawPax: () => current };
}
