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
import { scanTar, T_FILE } from "./tar-fields.js";
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

/** Regular-file entries of a tar written by exportLayer, by path; undefined when the tar holds anything unexpected. */
export function indexTar(path: string): Map<string, OldEntry> | undefined {
  const entries = scanTar(path);
  if (!entries) return undefined;
  const out = new Map<string, OldEntry>();
  for (const e of entries) {
    const { mode, uid, gid, mtime, pax } = e;
    if (mode === undefined || uid === undefined || gid === undefined || mtime === undefined) return undefined;
    if (e.type !== T_FILE) continue;
    const xattrs = new Map<string, Buffer>();
    for (const [k, v] of pax ?? []) if (k.startsWith("SCHILY.xattr.")) xattrs.set(k.slice(13), v);
    const num = (k: string, v: number): number => (pax?.has(k) ? Number(pax.get(k)!.toString("latin1")) : v);
    out.set(e.path, { start: e.start, end: e.end, mode, uid: num("uid", uid), gid: num("gid", gid), mtime: num("mtime", mtime), size: e.size, xattrs });
  }
  return out;
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
