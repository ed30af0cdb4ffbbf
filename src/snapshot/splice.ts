/**
 * Spliced layer export: the layer of a snapshot cloned from an earlier one (hard links, a few entries replaced) is
 * that earlier layer's tar with a few entries replaced. planSplice() reads the earlier, uncompressed tar's headers
 * (PAX included) and decides per entry of the new diff: copy the old entry's bytes (a regular file whose path did
 * not change and whose header — mode, owner, mtime, size, xattrs — matches), or generate it with the normal
 * writer (everything else). writeSplicedLayer() then streams the result through the same hash and compressor as
 * exportLayer(), so the bytes equal a full export's. Any unexpected input makes planSplice() return undefined
 * (the caller exports in full); nothing is written before the plan is complete.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { Readable, type Writable } from "node:stream";
import tar from "tar-stream";
import { isLayerXattr, mtimeSeconds, writeLayerBlob, writeLayerTar, type ExportOptions } from "./diff.js";
import { parsePax } from "./layer-stream.js";
import { octalField, stringField } from "./tar-fields.js";
import { decodeName } from "./raw-names.js";
import type { DiffEntry, DiffSource, LayerDescriptor } from "./types.js";

/** One regular-file entry of the earlier tar: its bytes [start, end) (PAX header included) and header fields. */
interface OldEntry {
  readonly start: number;
  readonly end: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  readonly size: number;
  readonly xattrs: ReadonlyMap<string, Buffer>;
}

type Segment = { readonly kind: "copy"; start: number; end: number } | { readonly kind: "gen"; readonly entries: DiffEntry[] };

/** A complete splice plan. */
export interface SplicePlan {
  readonly source: DiffSource;
  readonly oldTar: string;
  readonly segments: readonly Segment[];
  /** Entries whose bytes are copied from the earlier tar. */
  readonly copied: number;
}

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

/** Regular-file entries of a tar written by exportLayer, by path; undefined when the tar holds anything unexpected. */
export function indexTar(path: string): Map<string, OldEntry> | undefined {
  const fd = openSync(path, "r");
  try {
    const w = new Window(fd);
    const out = new Map<string, OldEntry>();
    let pos = 0;
    for (;;) {
      const start = pos;
      let h = w.get(pos, 512);
      if (h.length < 512) return undefined;
      if (h.equals(ZERO_BLOCK)) return out;
      let pax: Map<string, Buffer> | undefined;
      if (String.fromCharCode(h[156]!) === "x") {
        const size = octalField(h, 124, 12);
        if (size === undefined) return undefined;
        pax = parsePax(Buffer.from(w.get(pos + 512, size)));
        pos += 512 + Math.ceil(size / 512) * 512;
        h = w.get(pos, 512);
        if (h.length < 512) return undefined;
      }
      const type = String.fromCharCode(h[156]!);
      if (!"0125634".includes(type) || h[156] === 0) return undefined;
      const size = octalField(h, 124, 12);
      const mode = octalField(h, 100, 8);
      const uid = octalField(h, 108, 8);
      const gid = octalField(h, 116, 8);
      const mtime = octalField(h, 136, 12);
      if (size === undefined || mode === undefined || uid === undefined || gid === undefined || mtime === undefined) return undefined;
      const prefix = stringField(h, 345, 155);
      const paxPath = pax?.get("path");
      const name = paxPath !== undefined ? decodeName(paxPath) : (prefix ? `${prefix}/${stringField(h, 0, 100)}` : stringField(h, 0, 100));
      pos += 512 + (type === "0" ? Math.ceil(size / 512) * 512 : 0);
      if (type !== "0") continue;
      const xattrs = new Map<string, Buffer>();
      for (const [k, v] of pax ?? []) if (k.startsWith("SCHILY.xattr.")) xattrs.set(k.slice(13), v);
      const num = (k: string, v: number): number => (pax?.has(k) ? Number(pax.get(k)!.toString("latin1")) : v);
      out.set(name, { start, end: pos, mode, uid: num("uid", uid), gid: num("gid", gid), mtime: num("mtime", mtime), size, xattrs });
    }
  } finally {
    closeSync(fd);
  }
}

/** Whether the old entry's recorded xattrs are what the writer would record for `b` (layer xattrs only). */
function sameXattrs(a: ReadonlyMap<string, Buffer>, b: ReadonlyMap<string, Buffer> | undefined): boolean {
  const bs = [...(b ?? [])].filter(([k]) => isLayerXattr(k));
  if (a.size !== bs.length) return false;
  for (const [k, v] of bs) if (!a.get(k)?.equals(v)) return false;
  return true;
}

/**
 * Plan the layer of `source` as a splice of `oldTar` (the uncompressed layer `source`'s snapshot was cloned from):
 * `changed` are the paths whose content may differ. Undefined when the splice cannot be proven equal (hard links
 * inside the new layer, an unreadable or foreign old tar).
 */
export function planSplice(source: DiffSource, oldTar: string, changed: ReadonlySet<string>, options: Pick<ExportOptions, "sourceDateEpoch"> = {}): SplicePlan | undefined {
  const inodes = new Set<string>();
  for (const e of source.entries) {
    if (e.kind !== "entry" || !e.stat.isFile()) continue;
    const id = `${e.stat.dev}:${e.stat.ino}`;
    if (inodes.has(id)) return undefined; // a hard link group inside the layer: its first member decides, keep it simple
    inodes.add(id);
  }
  let old: Map<string, OldEntry> | undefined;
  try {
    old = indexTar(oldTar);
  } catch {
    return undefined;
  }
  if (!old) return undefined;
  const epoch = options.sourceDateEpoch;
  const segments: Segment[] = [];
  let copied = 0;
  for (const e of source.entries) {
    let o: OldEntry | undefined;
    if (e.kind === "entry" && e.stat.isFile() && !changed.has(e.path)) {
      const st = e.stat;
      const sec = mtimeSeconds(st);
      o = old.get(e.path);
      if (o && !(o.mode === Number(st.mode & 0o7777n) && o.uid === Number(st.uid) && o.gid === Number(st.gid) && o.size === Number(st.size)
        && o.mtime === (epoch !== undefined && sec > epoch ? epoch : sec) && sameXattrs(o.xattrs, source.xattrs.get(e.path)))) o = undefined;
    }
    const last = segments[segments.length - 1];
    if (o) {
      copied++;
      if (last?.kind === "copy" && last.end === o.start) last.end = o.end;
      else segments.push({ kind: "copy", start: o.start, end: o.end });
    } else if (last?.kind === "gen") last.entries.push(e);
    else segments.push({ kind: "gen", entries: [e] });
  }
  return { source, oldTar, segments, copied };
}

/** The tar bytes of the plan, in chunks of at most ~1 MiB (end-of-archive included). */
async function* splicedTar(plan: SplicePlan, options: ExportOptions): AsyncGenerator<Buffer, void, undefined> {
  const fd = openSync(plan.oldTar, "r");
  try {
    for (const s of plan.segments) {
      options.signal?.throwIfAborted();
      if (s.kind === "copy") {
        for (let pos = s.start; pos < s.end;) {
          const buf = Buffer.allocUnsafe(Math.min(1 << 20, s.end - pos));
          const n = readSync(fd, buf, 0, buf.length, pos);
          if (n <= 0) throw new Error(`${plan.oldTar} is shorter than its index`);
          pos += n;
          yield buf.subarray(0, n);
        }
        continue;
      }
      // The normal writer for these entries; tar-stream's end-of-archive (1024 zero bytes) is held back and dropped.
      const pack = tar.pack();
      const write = writeLayerTar({ root: plan.source.root, entries: s.entries, xattrs: plan.source.xattrs }, pack, options).then(
        () => pack.finalize(),
        (err: unknown) => {
          pack.destroy(err as Error);
          throw err;
        },
      );
      let held: Buffer = Buffer.alloc(0);
      for await (const chunk of pack as AsyncIterable<Buffer>) {
        held = held.length === 0 ? chunk : Buffer.concat([held, chunk]);
        if (held.length > 1024 + (256 << 10)) {
          yield held.subarray(0, held.length - 1024);
          held = held.subarray(held.length - 1024);
        }
      }
      await write;
      if (held.length < 1024) throw new Error("tar-stream ended without its end-of-archive blocks");
      if (held.length > 1024) yield held.subarray(0, held.length - 1024);
    }
    yield Buffer.alloc(1024);
  } finally {
    closeSync(fd);
  }
}

/** Write the plan as a layer blob to `dest`, hashed and compressed exactly as exportLayer() does. */
export async function writeSplicedLayer(plan: SplicePlan, dest: string | Writable, options: ExportOptions = {}): Promise<LayerDescriptor> {
  return writeLayerBlob([Readable.from(splicedTar(plan, options))], dest, options);
}
