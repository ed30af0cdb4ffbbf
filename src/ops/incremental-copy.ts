/**
 * Incremental COPY from the build context. When a file op that only copies one directory of the context misses
 * the cache because the context changed, and the same op ran on the same base before (its result snapshot still
 * exists), the new layer starts as a hard-link clone of the previous one: paths gone from the context (or whose
 * type changed) are deleted from the clone's upperdir before it is mounted (deleting through the mount would leave
 * a whiteout hiding a base file the full copy leaves visible), then only added and changed entries are copied,
 * and every directory's metadata is applied again (Docker stamps non-empty context directories with the build
 * time). Cloned inodes are never written: the copy code replaces every existing non-directory (unlink + create).
 *
 * Anything unusual falls back to the full copy: several matches, a file root, hard links or special files in the
 * context, the copy driver, a missing or corrupt record, more than half the entries changed, `--no-cache`.
 */
import { posix, relative } from "node:path";
import type { CopyAction } from "../graph/index.js";
import type { BuildContext } from "../context/index.js";
import type { BuildRef } from "../cache/index.js";
import { incrementalKey, readIncrementalRecord, writeIncrementalRecord, type IncrementalRecord } from "../cache/index.js";
import type { ExecContext } from "../solver/index.js";
import type { OpDeps, OpResult } from "./types.js";
import { contextSelector, listFromContext, type SourceItem } from "./copy-sources.js";
import { writeItemAt, type CopyTarget } from "./copy-apply.js";

/** Entry path (relative to the match root) → fingerprint, for one directory match of the context. */
type Manifest = ReadonlyMap<string, string>;

/** What the incremental path needs from the file op (kept as callbacks: the op owns the full copy). */
export interface ContextCopyParams {
  readonly a: CopyAction;
  readonly opDigest: string;
  readonly base: BuildRef;
  readonly context: BuildContext;
  readonly deps: OpDeps;
  readonly ctx: ExecContext;
  /** False with `--no-cache`: a cold build never starts from an earlier result. */
  readonly useRecord: boolean;
  /** The copy target (owner, chmod) for a mounted rootfs, resolved as the full copy does. */
  target(root: string): Promise<CopyTarget>;
  /** The full copy of `items` onto the mounted rootfs; returns the host path each match's root was written to. */
  copyAll(root: string, items: readonly SourceItem[]): Promise<readonly string[]>;
}

/** The delta from a record to the current context. */
interface Delta {
  /** Entry paths (match-relative) to copy: added or changed non-directories. */
  readonly copy: ReadonlySet<string>;
  /** Rootfs-relative paths to delete from the clone (minimal: nothing below another one). */
  readonly remove: readonly string[];
}

function fingerprint(e: { type: string; mode: number; uid: number; gid: number; mtimeMs: number; size: number; linkTarget?: string }, digest: string | undefined): string {
  if (e.type === "dir") return `dir ${(e.mode & 0o7777).toString(8)}`;
  return `${e.type} ${(e.mode & 0o7777).toString(8)} ${e.uid}:${e.gid} ${e.mtimeMs} ${e.size} ${digest ?? "-"} ${JSON.stringify(e.linkTarget ?? "")}`;
}

const isDirFp = (fp: string): boolean => fp.startsWith("dir ");

/** The manifest of the action's one directory match, or undefined when the copy is not a candidate. */
async function manifestOf(context: BuildContext, a: CopyAction): Promise<Manifest | undefined> {
  const sel = contextSelector(a);
  const selections = await context.list(sel);
  const only = selections[0];
  if (selections.length !== 1 || only === undefined || only.root.type !== "dir") return undefined;
  if (only.descendants.some((e) => (e.type !== "file" && e.type !== "dir" && e.type !== "symlink") || (e.type === "file" && e.nlink > 1))) return undefined;
  const digests = await context.entryDigests(sel);
  const out = new Map<string, string>();
  for (const e of only.descendants) out.set(e.path, fingerprint(e, digests.get(e.contextPath)));
  return out;
}

function planDelta(rec: IncrementalRecord, manifest: Manifest, item: SourceItem, a: CopyAction): Delta | undefined {
  const prev = rec.items[0];
  if (rec.items.length !== 1 || prev === undefined || prev.source !== item.source || prev.rootType !== item.root.type) return undefined;
  // --chown names are looked up in the rootfs, which the clone already holds: the copy must not have written them.
  if (a.chown !== undefined && (prev.dst === "" || prev.dst === "etc" || prev.dst.startsWith("etc/"))) return undefined;
  const copy = new Set<string>();
  const gone: string[] = [];
  for (const [path, fp] of manifest) {
    const old = rec.entries[path];
    if (old === fp) continue;
    if (old !== undefined && isDirFp(old) !== isDirFp(fp)) gone.push(path);
    if (!isDirFp(fp)) copy.add(path);
  }
  for (const path of Object.keys(rec.entries)) if (!manifest.has(path)) gone.push(path);
  const files = [...manifest.values()].filter((fp) => !isDirFp(fp)).length;
  if ((copy.size + gone.length) * 2 > Math.max(files, 1)) return undefined;
  gone.sort();
  const remove: string[] = [];
  for (const p of gone) {
    const last = remove[remove.length - 1];
    if (last !== undefined && p.startsWith(`${last}/`)) continue;
    remove.push(p);
  }
  return { copy, remove: remove.map((p) => posix.join(prev.dst, p)) };
}

function topSnapshot(ref: BuildRef): string {
  return ref.layers[ref.layers.length - 1]!.snapshot;
}

function log(ctx: ExecContext, text: string): void {
  ctx.progress({ type: "vertex.log", digest: ctx.vertex.digest, stream: 2, data: Buffer.from(`${text}\n`), time: Date.now() });
}

/**
 * Run a file op made of one COPY from the build context: incrementally from the previous result when possible
 * (see the file header), else as a full copy; either way remember the result for the next run.
 */
export async function execContextCopy(p: ContextCopyParams): Promise<OpResult> {
  const { a, deps, ctx } = p;
  const { signal } = ctx;
  const items = await listFromContext(p.context, a);
  const item = items[0];
  // (Deps wired by hand, as some tests do, may leave out the snapshotter or the layout: then always a full copy.)
  const overlay = (deps.snapshotter as OpDeps["snapshotter"] | undefined)?.report.driver === "overlay" && deps.layout !== undefined;
  const manifest = overlay && items.length === 1 && item?.root.type === "dir" && !(a.unpack && item.root.type !== "dir") ? await manifestOf(p.context, a) : undefined;
  const key = incrementalKey(p.opDigest, p.base.layers.map((l) => l.snapshot));
  const rec = manifest && p.useRecord ? await readIncrementalRecord(deps.layout, key, deps.snapshotter) : undefined;
  const delta = rec && manifest && item ? planDelta(rec, manifest, item, a) : undefined;
  if (rec && manifest && item && delta) {
    const active = await deps.refs.prepare(p.base, signal, { clone: { from: rec.snapshot, remove: delta.remove } }).catch(() => undefined);
    if (active) {
      try {
        const dst = rec.items[0]!.dst;
        const partial: SourceItem = { ...item, descendants: item.descendants.filter((e) => e.type === "dir" || delta.copy.has(e.path)) };
        await writeItemAt(await p.target(active.path), partial, posix.join(active.path, dst));
        signal.throwIfAborted();
        const ref = await active.commit();
        const changed = [
          ...(dst === "" ? [] : [dst]),
          ...item.descendants.filter((e) => e.type === "dir" || delta.copy.has(e.path)).map((e) => posix.join(dst, e.path)),
        ];
        await writeIncrementalRecord(deps.layout, key, { snapshot: topSnapshot(ref), items: rec.items, entries: Object.fromEntries(manifest) }, { from: rec.snapshot, changed, removed: delta.remove }).catch(() => {});
        const linked = manifest.size - delta.copy.size - [...manifest.values()].filter(isDirFp).length;
        log(ctx, `incremental copy: ${delta.copy.size} changed, ${delta.remove.length} removed, ${linked} linked`);
        return { kind: "fs", ref };
      } catch (err) {
        await active.discard().catch(() => {});
        throw err;
      }
    }
  }
  const active = await deps.refs.prepare(p.base, signal);
  try {
    const dsts = await p.copyAll(active.path, items);
    signal.throwIfAborted();
    const ref = await active.commit();
    if (overlay && manifest && item && dsts.length === 1 && ref.layers.length > 0) {
      const record: IncrementalRecord = { snapshot: topSnapshot(ref), items: [{ source: item.source, rootType: item.root.type, dst: relative(active.path, dsts[0]!) }], entries: Object.fromEntries(manifest) };
      await writeIncrementalRecord(deps.layout, key, record).catch(() => {});
    }
    return { kind: "fs", ref };
  } catch (err) {
    await active.discard().catch(() => {});
    throw err;
  }
}
