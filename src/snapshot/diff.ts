/**
 * DiffSource → OCI layer blob in one streaming pass: tar-stream pack → sha256 (diffId) → compressor →
 * sha256 + size (digest) → destination. PAX headers are written by hand when needed (long or non-ASCII
 * names, xattrs, big ids) because tar-stream encodes PAX values as UTF-8 text and xattrs are binary.
 */
import { closeSync, constants as fsConstants, createReadStream, createWriteStream, openSync, readSync } from "node:fs";
import { readlink } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform, type TransformCallback, type Writable } from "node:stream";
import tar from "tar-stream";
import type { Header } from "tar-stream";

/** tar-stream's header argument, plus the `pax-header` type its typings leave out. */
interface Headers extends Omit<Partial<Header>, "type" | "linkname"> {
  name: string;
  type?: Header["type"] | "pax-header";
  linkname?: string;
}
type PackHeader = Parameters<tar.Pack["entry"]>[0];
import { createCompressor, DigestTap, LAYER_MEDIA_TYPES } from "./compress.js";
import { LayerError } from "./errors.js";
import { decodeName, fsPath, rawBytes } from "./raw-names.js";
import type { Compression, DiffEntry, DiffSource, LayerDescriptor } from "./types.js";


export interface ExportOptions {
  /** @default "gzip" */
  readonly compression?: Compression;
  /** gzip 1–9 (default 6), zstd 1–19 (default 3). */
  readonly level?: number;
  /** Clamp every mtime to at most this Unix time (SOURCE_DATE_EPOCH). */
  readonly sourceDateEpoch?: number;
  /** @default "auto" (libdeflate when tsbuild-deflate builds, else pigz when installed, else zlib) */
  readonly gzipBackend?: "auto" | "libdeflate" | "pigz" | "zlib";
  /** @default "auto" (the zstd CLI with -T when installed, else @cloudpss/zstd; the two give different bytes) */
  readonly zstdBackend?: "auto" | "cli" | "lib";
  readonly signal?: AbortSignal;
}

const MAX_OCTAL_ID = 0o777777;
/** The largest mtime an 11-digit ustar field holds (2242); earlier than 1970 or later goes into a PAX record. */
const MAX_OCTAL_MTIME = 0o77777777777;

/**
 * Whether a layer tar records the extended attribute `name`: only `security.capability`, as Docker's exporters
 * (moby's archive package, containerd's tar writer) write it; `user.*`, `trusted.*` and the rest never reach a layer.
 */
export function isLayerXattr(name: string): boolean {
  return name === "security.capability";
}

/** An entry's mtime in whole seconds, rounded down (before 1970 too), as Go's archive/tar writes it. */
export function mtimeSeconds(st: { readonly mtimeNs: bigint }): number {
  const ns = 1_000_000_000n;
  return Number(st.mtimeNs / ns - (st.mtimeNs % ns < 0n ? 1n : 0n));
}

/** One PAX record: "<len> <key>=<value>\n" where len counts the whole record. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from("\n")]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** Whether tar-stream can store the name and linkname in a plain ustar header (its own rule: ASCII, prefix split). */
function fits(header: Headers): boolean {
  const ascii = (s: string): boolean => /^[\x00-\x7f]*$/.test(s);
  if (header.linkname !== undefined && (!ascii(header.linkname) || header.linkname.length > 100)) return false;
  let name = header.name;
  if (!ascii(name)) return false;
  let prefix = "";
  while (name.length > 100) {
    const i = name.indexOf("/");
    if (i === -1) return false;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  return prefix.length <= 155;
}

/** An ASCII stand-in for a name carried in PAX (old readers see it; PAX readers use the real name). */
function placeholder(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, "_");
  return ascii.length > 99 ? ascii.slice(-99) : ascii;
}

function majorMinor(rdev: bigint): [number, number] {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return [Number(major), Number(minor)];
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : `${path.slice(0, i)}/`;
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Mode 0 (`chmod 000`, a tar member or --chmod=0): tar-stream 3.2 gives an entry without a mode (0 included) the
 * default 0644/0755 but writes only `mode & 0o7777`, so a bit above the field stands for 0 and 0 is written.
 */
const MODE_ZERO = 0o10000;

interface PackInternals {
  _encode(header: object): void;
  push(chunk: Buffer): boolean;
}

/**
 * Let entries carry a raw PAX header: tar-stream writes each header in `_encode` when the entry's turn comes, so
 * the PAX header ('x' + records + padding) is pushed right there. Instance-level hook on tar-stream 3.2 (pinned).
 */
function withRawPax(pack: tar.Pack): WeakMap<object, Buffer> {
  const map = new WeakMap<object, Buffer>();
  const internals = pack as unknown as PackInternals;
  const encode = internals._encode.bind(pack);
  internals._encode = (header: object): void => {
    const body = map.get(header);
    if (body) {
      const h = header as Headers;
      encode({ name: "PaxHeader", type: "pax-header", size: body.length, mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime });
      internals.push(body);
      const pad = (512 - (body.length % 512)) % 512;
      if (pad) internals.push(Buffer.alloc(pad));
    }
    encode(header);
  };
  return map;
}

/** Write the layer tar for `source` into `pack` (does not finalize). */
export async function writeLayerTar(source: DiffSource, pack: tar.Pack, options: ExportOptions = {}): Promise<void> {
  const epoch = options.sourceDateEpoch;
  const clamp = (seconds: number): Date => new Date((epoch !== undefined && seconds > epoch ? epoch : seconds) * 1000);
  const links = new Map<string, string>();
  const rawPax = withRawPax(pack);

  // tar-stream leaves file entries open until ended, even empty ones: give those an empty body
  const entry = (h: Headers): void => {
    if (h.type === "file") pack.entry(h as PackHeader, Buffer.alloc(0));
    else pack.entry(h as PackHeader);
  };
  const put = (header: Headers, xattrs?: ReadonlyMap<string, Buffer>): Headers => {
    const records: Buffer[] = [];
    const real = { ...header };
    if (!fits({ ...header, linkname: undefined })) {
      records.push(paxRecord("path", rawBytes(header.name)));
      real.name = placeholder(header.name);
    }
    if (header.linkname !== undefined && !fits({ ...header, name: "x", linkname: header.linkname })) {
      records.push(paxRecord("linkpath", rawBytes(header.linkname)));
      real.linkname = placeholder(header.linkname);
    }
    for (const k of ["uid", "gid"] as const) {
      const v = header[k] ?? 0;
      if (v > MAX_OCTAL_ID) {
        records.push(paxRecord(k, Buffer.from(String(v))));
        real[k] = MAX_OCTAL_ID;
      }
    }
    const secs = Math.floor((header.mtime?.getTime() ?? 0) / 1000);
    if (secs < 0 || secs > MAX_OCTAL_MTIME) {
      records.push(paxRecord("mtime", Buffer.from(String(secs))));
      real.mtime = new Date(0);
    }
    for (const name of [...(xattrs?.keys() ?? [])].filter(isLayerXattr).sort()) records.push(paxRecord(`SCHILY.xattr.${name}`, xattrs!.get(name)!));
    if (records.length > 0) rawPax.set(real, Buffer.concat(records));
    return real;
  };

  for (const e of source.entries) {
    options.signal?.throwIfAborted();
    await writeEntry(e);
  }

  async function writeEntry(e: DiffEntry): Promise<void> {
    if (e.kind === "whiteout" || e.kind === "opaque") {
      const name = e.kind === "opaque" ? `${e.path}/.wh..wh..opq` : `${dirOf(e.path)}.wh.${baseOf(e.path)}`;
      entry(put({ name, type: "file", size: 0, mode: 0, uid: 0, gid: 0, mtime: new Date(0) }));
      return;
    }
    const st = e.stat;
    const base: Headers = {
      name: e.path, mode: Number(st.mode & 0o7777n) || MODE_ZERO, uid: Number(st.uid), gid: Number(st.gid),
      mtime: clamp(mtimeSeconds(st)), size: 0,
    };
    const xattrs = source.xattrs.get(e.path);
    const abs = join(source.root, e.path);
    if (st.isDirectory()) {
      entry(put({ ...base, name: `${e.path}/`, type: "directory" }, xattrs));
    } else if (st.isSymbolicLink()) {
      entry(put({ ...base, type: "symlink", linkname: decodeName(await readlink(fsPath(abs), { encoding: "buffer" })) }, xattrs));
    } else if (st.isFile()) {
      const id = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1n ? links.get(id) : undefined;
      if (first !== undefined) {
        entry(put({ ...base, type: "link", linkname: first }, xattrs));
        return;
      }
      if (st.nlink > 1n) links.set(id, e.path);
      const size = Number(st.size);
      const header = put({ ...base, type: "file", size }, xattrs);
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry(header as PackHeader, (err) => (err ? reject(wrapRead(e.path, err)) : resolve()));
        // Errors reach the callback above. A destroyed pack (the reader went away: EPIPE) also errors the entry:
        // handle that event too, and close the file (an open file keeps a snapshot view busy).
        if (size <= SMALL_FILE) {
          // Small files (most of a big tree) in one read: a read stream per file cost ~150 µs each, 3 s for 20,000.
          sink.on("error", () => {});
          let body: Buffer;
          try {
            body = size === 0 ? Buffer.alloc(0) : readWhole(abs, size);
          } catch (err) {
            return void sink.destroy(err as Error);
          }
          return void sink.end(body);
        }
        const file = createReadStream(fsPath(abs), { start: 0, end: size - 1 });
        sink.on("error", () => file.destroy());
        file.on("error", (err) => sink.destroy(err)).pipe(sink);
      });
    } else if (st.isFIFO()) {
      entry(put({ ...base, type: "fifo" }, xattrs));
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const [devmajor, devminor] = majorMinor(st.rdev);
      entry(put({ ...base, type: st.isCharacterDevice() ? "character-device" : "block-device", devmajor, devminor }, xattrs));
    }
    // sockets are not representable in tar and are skipped, as every image builder does
  }
}

/** Files up to this size are read whole (backpressure still holds: tar-stream's sink waits for the reader). */
const SMALL_FILE = 256 * 1024;

/** Exactly `size` bytes of the regular file at `abs` (never through a symlink); fails if it is not that long. */
function readWhole(abs: string, size: number): Buffer {
  const fd = openSync(fsPath(abs), fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  try {
    const buf = Buffer.allocUnsafe(size + 1);
    let got = 0;
    for (let n; got < buf.length && (n = readSync(fd, buf, got, buf.length - got, got)) > 0;) got += n;
    if (got !== size) throw new Error(`expected ${size} bytes, read ${got}`);
    return buf.subarray(0, size);
  } finally {
    closeSync(fd);
  }
}

function wrapRead(path: string, err: Error): LayerError {
  return new LayerError("TSB_LAYER_EXPORT", `reading ${JSON.stringify(path)} for the layer failed: ${err.message}`,
    "a file changed while the layer was being written; do not modify committed snapshots", path, err);
}

/**
 * Joins tar-stream's small pieces (a 512-byte header, then data and padding, for every entry) into chunks of at
 * least LIMIT bytes before they reach the hash and the compressor: a layer of 20,000 small files otherwise costs
 * 60,000 pipe writes to pigz/zstd, which took longer than compressing it.
 */
class Coalescer extends Transform {
  static readonly LIMIT = 256 * 1024;
  #parts: Buffer[] = [];
  #size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (chunk.length >= Coalescer.LIMIT) {
      this.#emit();
      cb(null, chunk);
      return;
    }
    this.#parts.push(chunk);
    this.#size += chunk.length;
    if (this.#size >= Coalescer.LIMIT) this.#emit();
    cb();
  }
  override _flush(cb: TransformCallback): void {
    this.#emit();
    cb();
  }
  #emit(): void {
    if (this.#size === 0) return;
    this.push(this.#parts.length === 1 ? this.#parts[0] : Buffer.concat(this.#parts, this.#size));
    this.#parts = [];
    this.#size = 0;
  }
}

/**
 * Write `source` as a layer blob to `dest` (a path, created/truncated, or a writable stream that is ended) and
 * return its descriptor: diffId, digest and size come from the same single pass.
 */
export async function exportLayer(source: DiffSource, dest: string | Writable, options: ExportOptions = {}): Promise<LayerDescriptor> {
  const pack = tar.pack();
  // tar-stream's pack is a streamx Readable: a Node stream at run time, not in its typings.
  return writeLayerBlob([pack as unknown as NodeJS.ReadableStream, new Coalescer()], dest, options, () =>
    writeLayerTar(source, pack, options).then(
      () => void pack.finalize(),
      (err: unknown) => {
        pack.destroy(err as Error);
        throw err;
      },
    ),
  );
}

/**
 * The tar flowing out of `head` (fed by `produce`, started once the pipeline stands) hashed as the diffId,
 * compressed as `options` say, hashed again as the blob and written to `dest`, all in one pass. Shared by the full
 * and the spliced layer export, so both write the same bytes for the same tar.
 */
export async function writeLayerBlob(
  head: readonly NodeJS.ReadableStream[], dest: string | Writable, options: ExportOptions, produce: () => Promise<void> = async () => {},
): Promise<LayerDescriptor> {
  const compression = options.compression ?? "gzip";
  const diffTap = new DigestTap();
  const blobTap = new DigestTap();
  // Uncompressed, the blob is the tar itself: one hashing pass gives both digests. The compressor validates the
  // level: make it before the destination file is opened.
  const compressor = compression === "none" ? undefined : createCompressor(compression, options.level, { gzip: options.gzipBackend, zstd: options.zstdBackend });
  const out = typeof dest === "string" ? createWriteStream(dest) : dest;
  const stages = compressor ? [...head, diffTap, compressor, blobTap, out] : [...head, diffTap, out];
  await Promise.all([produce(), pipeline(stages, options.signal ? { signal: options.signal } : {})]);
  const diff = diffTap.result();
  const blob = compressor ? blobTap.result() : diff;
  return { diffId: diff.digest, digest: blob.digest, size: blob.size, mediaType: LAYER_MEDIA_TYPES[compression], uncompressedSize: diff.size };
}
