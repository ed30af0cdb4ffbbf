/**
 * The entries of an uncompressed tar written by tsbuild's exporter, read straight from the header bytes: where each
 * entry's bytes lie and its header fields, for the splice planners (splice.ts, splice-derived.ts).
 */
import { closeSync, openSync, readSync } from "node:fs";
import { parsePax } from "./layer-stream.js";
import { decodeName } from "./raw-names.js";

/** An octal number field (leading spaces, then digits up to a NUL or space); undefined when it is not plain octal (base-256 included). */
export function octalField(b: Buffer, off: number, len: number): number | undefined {
  let i = off;
  const end = off + len;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return undefined;
    v = v * 8 + (c - 0x30);
  }
  return v;
}

/** A NUL-terminated (or full-length) string field, as UTF-8. */
export function stringField(b: Buffer, off: number, len: number): string {
  const z = b.indexOf(0, off);
  return b.toString("utf8", off, z < 0 || z > off + len ? off + len : z);
}

/** One entry of a scanned tar. Numeric header fields are undefined when they are not plain octal. */
export interface TarEntry {
  /** The entry's path (PAX path when there is one), without a directory's trailing slash. */
  readonly path: string;
  /** The type flag byte ('0' file, '1' hard link, '2' symlink, '3'/'4' devices, '5' directory, '6' fifo). */
  readonly type: number;
  /** Its bytes [start, end): PAX header, header, data and padding. */
  readonly start: number;
  readonly end: number;
  readonly size: number;
  readonly mode: number | undefined;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  readonly mtime: number | undefined;
  /** The PAX records that applied to it, raw. */
  readonly pax: ReadonlyMap<string, Buffer> | undefined;
}

export const T_FILE = 0x30; // '0'
export const T_LINK = 0x31; // '1'
export const T_DIR = 0x35; // '5'
const T_PAX = 0x78; // 'x'
const TYPES = new Set([0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36]);
const ZERO_BLOCK = Buffer.alloc(512);

/** Sequential positional reader over a file with one growing window. */
class Window {
  readonly #fd: number;
  #buf = Buffer.alloc(0);
  #at = 0;
  constructor(fd: number) {
    this.#fd = fd;
  }
  /** `len` bytes at `pos` (shorter at end of file). */
  get(pos: number, len: number): Buffer {
    if (pos < this.#at || pos + len > this.#at + this.#buf.length) {
      const size = Math.max(len, 8 << 20);
      const buf = Buffer.allocUnsafe(size);
      const n = readSync(this.#fd, buf, 0, size, pos);
      this.#buf = buf.subarray(0, n);
      this.#at = pos;
    }
    return this.#buf.subarray(pos - this.#at, pos - this.#at + len);
  }
}

/**
 * Every entry of the tar at `path`, in order, up to its end-of-archive blocks; undefined when it holds anything the
 * exporter does not write (another type, a size that is not octal, a truncated entry).
 */
export function scanTar(path: string): TarEntry[] | undefined {
  const fd = openSync(path, "r");
  try {
    const w = new Window(fd);
    const out: TarEntry[] = [];
    let pos = 0;
    for (;;) {
      const start = pos;
      let h = w.get(pos, 512);
      if (h.length < 512) return undefined;
      if (h.equals(ZERO_BLOCK)) return out;
      let pax: Map<string, Buffer> | undefined;
      if (h[156] === T_PAX) {
        const size = octalField(h, 124, 12);
        if (size === undefined) return undefined;
        const body = w.get(pos + 512, size);
        if (body.length < size) return undefined;
        pax = parsePax(Buffer.from(body));
        pos += 512 + Math.ceil(size / 512) * 512;
        h = w.get(pos, 512);
        if (h.length < 512) return undefined;
      }
      const type = h[156]!;
      if (!TYPES.has(type)) return undefined;
      const size = octalField(h, 124, 12);
      if (size === undefined) return undefined;
      const paxPath = pax?.get("path");
      let name: string;
      if (paxPath !== undefined) name = decodeName(paxPath);
      else {
        const prefix = stringField(h, 345, 155);
        name = prefix ? `${prefix}/${stringField(h, 0, 100)}` : stringField(h, 0, 100);
      }
      if (type === T_DIR && name.endsWith("/")) name = name.slice(0, -1);
      pos += 512 + (type === T_FILE ? Math.ceil(size / 512) * 512 : 0);
      out.push({ path: name, type, start, end: pos, size, mode: octalField(h, 100, 8), uid: octalField(h, 108, 8), gid: octalField(h, 116, 8), mtime: octalField(h, 136, 12), pax });
    }
  } finally {
    closeSync(fd);
  }
}
