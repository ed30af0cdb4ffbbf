/**
 * Builds DiffSources. Walks use the synchronous fs calls on purpose: lstat/readdir of a few thousand entries is
 * several times faster without the thread-pool round trip, and a walk touches only one snapshot's changes.
 */
import { lstatSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import { readXattrs, readXattrsTree, type XattrMap } from "./native.js";
import type { DiffEntry, DiffSource } from "./types.js";
import { fsPath, sortedNames } from "./raw-names.js";
import { ancestors, unchangedPaths, type Candidate } from "./compare.js";

/** Sort key: a dir, then its opaque marker, then its whiteouts, then its children, each group by name. */
function sortKey(e: { readonly kind: DiffEntry["kind"]; readonly path: string }): string[] {
  const parts = e.path.split("/").map((p) => `\u0002${p}`);
  if (e.kind === "opaque") parts.push("\u0000");
  else if (e.kind === "whiteout") parts[parts.length - 1] = `\u0001${parts[parts.length - 1]!.slice(1)}`;
  return parts;
}

function compareKeys(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

/** Put entries in layer order (see DiffSource.entries). */
export function sortEntries<T extends { readonly kind: DiffEntry["kind"]; readonly path: string }>(entries: readonly T[]): T[] {
  return entries
    .map((e) => ({ e, k: sortKey(e) }))
    .sort((x, y) => compareKeys(x.k, y.k))
    .map((x) => x.e);
}

function isWhiteoutDevice(st: BigIntStats): boolean {
  return st.isCharacterDevice() && st.rdev === 0n;
}

function isOpaque(attrs: ReadonlyMap<string, Buffer> | undefined): boolean {
  if (!attrs) return false;
  for (const name of ["trusted.overlay.opaque", "user.overlay.opaque"]) {
    if (attrs.get(name)?.toString() === "y") return true;
  }
  return false;
}

/** Relative-path keyed xattrs without overlay markers. */
function relXattrs(abs: XattrMap, root: string, paths: Iterable<string>): Map<string, ReadonlyMap<string, Buffer>> {
  const out = new Map<string, ReadonlyMap<string, Buffer>>();
  for (const rel of paths) {
    const attrs = abs.get(join(root, rel));
    if (!attrs) continue;
    const kept = new Map([...attrs].filter(([k]) => !k.includes(".overlay.")));
    if (kept.size > 0) out.set(rel, kept);
  }
  return out;
}

function lstatOrUndefined(path: string): BigIntStats | undefined {
  try {
    return lstatSync(fsPath(path), { bigint: true });
  } catch (e) {
    if (["ENOENT", "ENOTDIR"].includes((e as NodeJS.ErrnoException).code ?? "")) return undefined;
    throw e;
  }
}

/**
 * The diff of an overlay snapshot: its upperdir (0/0 char devices are whiteouts, opaque xattrs mark dirs),
 * compared with `lower` (a read-only view of the parent, when there is one) so that entries overlayfs only
 * copied up are left out, whiteouts of paths that do not exist below are dropped, and an opaque marker is kept
 * only when the directory exists below.
 */
export async function walkUpper(upper: string, lower?: string): Promise<DiffSource> {
  const abs = await readXattrsTree(upper);
  // Entries are made in layer order (see DiffSource.entries): per directory, its opaque marker, then the whiteouts
  // by name, then every other child by name, each followed by what is below it. No sort of the whole list.
  const entries: DiffEntry[] = [];
  const cands: Candidate[] = [];
  const walk = (rel: string, below: boolean): void => {
    // A name that is not UTF-8 keeps its bytes (raw-names.ts) instead of vanishing in decoding.
    const names = sortedNames(rel === "" ? upper : join(upper, rel));
    const stats: BigIntStats[] = [];
    const lowers: (BigIntStats | undefined)[] = [];
    for (const name of names) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const stat = lstatSync(fsPath(join(upper, path)), { bigint: true });
      const lowerStat = below && lower ? lstatOrUndefined(join(lower, path)) : undefined;
      stats.push(stat);
      lowers.push(lowerStat);
      if (isWhiteoutDevice(stat) && lowerStat) entries.push({ kind: "whiteout", path });
    }
    for (let i = 0; i < names.length; i++) {
      const stat = stats[i]!;
      if (isWhiteoutDevice(stat)) continue;
      const path = rel === "" ? names[i]! : `${rel}/${names[i]!}`;
      const lowerStat = lowers[i];
      entries.push({ kind: "entry", path, stat });
      const opaque = stat.isDirectory() && lowerStat !== undefined && isOpaque(abs.get(join(upper, path)));
      if (opaque) entries.push({ kind: "opaque", path });
      else if (lowerStat) cands.push({ path, upper: { abs: join(upper, path), stat }, lower: { abs: join(lower!, path), stat: lowerStat } });
      if (stat.isDirectory()) walk(path, !opaque && lowerStat !== undefined && lowerStat.isDirectory());
    }
  };
  walk("", lower !== undefined);
  const unchanged = await unchangedPaths(cands, abs);
  let kept: DiffEntry[] = entries;
  if (unchanged.size > 0) {
    const needed = new Set<string>();
    for (const e of entries) {
      if (e.kind === "entry" && unchanged.has(e.path)) continue;
      needed.add(e.path);
      for (const a of ancestors(e.path)) needed.add(a);
    }
    kept = entries.filter((e) => needed.has(e.path));
  }
  return { root: upper, entries: kept, xattrs: relXattrs(abs, upper, kept.filter((e) => e.kind === "entry").map((e) => e.path)) };
}

/** A change recorded by the copy driver at commit time. */
export interface RecordedChange {
  readonly kind: "whiteout" | "opaque" | "entry";
  readonly path: string;
}

/** The diff of a copy-driver snapshot: its recorded changes, stat'ed in its full tree. */
export async function diffFromChanges(root: string, changes: readonly RecordedChange[]): Promise<DiffSource> {
  const entries: DiffEntry[] = changes.map((c) =>
    c.kind === "entry" ? { kind: "entry", path: c.path, stat: lstatSync(join(root, c.path), { bigint: true }) } : { kind: c.kind, path: c.path },
  );
  const paths = entries.filter((e) => e.kind === "entry").map((e) => e.path);
  const abs = await readXattrs(paths.map((p) => join(root, p)));
  return { root, entries: sortEntries(entries), xattrs: relXattrs(abs, root, paths) };
}
