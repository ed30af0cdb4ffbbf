/**
 * Spliced export of a derived layer without a walk of it. A layer made as a hard-link clone of an earlier layer
 * (Snapshotter.cloneLayer) plus a known set of written paths differs from that earlier layer only at those paths,
 * the paths removed from the clone, and its directories (cloned anew): every other regular file is the very inode
 * the earlier layer's tar was written from. So its tar is the earlier tar with the removed entries dropped, the
 * directories, symlinks and written paths generated again from an lstat, and every other file's bytes copied —
 * no lstat of the 20,000 untouched files of a big context copy. The writer that generates entries is the full
 * export's, so the bytes equal a full export's (test/unit/snapshot/splice.sandbox.test.ts checks it). Anything
 * this cannot prove (whiteouts or hard links in either layer, an opaque directory, a written path that vanished,
 * a foreign tar) returns undefined: the caller then walks the layer as usual.
 */
import { lstatSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import { readXattrs } from "./native.js";
import { scanTar, T_FILE, T_LINK, type TarEntry } from "./tar-fields.js";
import { fsPath } from "./raw-names.js";
import type { SplicePlan } from "./splice.js";
import type { DiffEntry } from "./types.js";

/** Every entry of a tar written by exportLayer; undefined when it holds anything this splice does not carry. */
function indexTarEntries(path: string): TarEntry[] | undefined {
  const entries = scanTar(path);
  if (!entries) return undefined;
  for (const e of entries) {
    if (e.type === T_LINK) return undefined; // hard links: the writer's order decides which one is the file
    if (e.path.startsWith(".wh.", e.path.lastIndexOf("/") + 1)) return undefined; // whiteouts and opaque markers: walk instead
  }
  return entries;
}

/** Layer order of two entry paths: component by component, each by UTF-16 code units (as walkUpper sorts). */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return -1; // "/" ends a component: the shorter component sorts first
    if (y === 0x2f) return 1;
    return x - y;
  }
  return a.length - b.length;
}

function isUnder(path: string, removed: ReadonlySet<string>): boolean {
  if (removed.size === 0) return false;
  for (let p = path; ; ) {
    if (removed.has(p)) return true;
    const slash = p.lastIndexOf("/");
    if (slash < 0) return false;
    p = p.slice(0, slash);
  }
}

function isOpaque(attrs: ReadonlyMap<string, Buffer> | undefined): boolean {
  for (const name of ["trusted.overlay.opaque", "user.overlay.opaque"]) if (attrs?.get(name)?.toString() === "y") return true;
  return false;
}

/**
 * Plan the tar of layer directory `root` (a clone of the layer `oldTar` was exported from) from `oldTar`:
 * `written` are the root-relative paths written since the clone (every directory may be among them), `removed`
 * the paths deleted from the clone (with everything below). Undefined when the splice cannot be proven equal to a
 * full export; nothing is written either way.
 */
export async function planDerivedSplice(root: string, oldTar: string, written: ReadonlySet<string>, removed: readonly string[]): Promise<SplicePlan | undefined> {
  let old: TarEntry[] | undefined;
  try {
    old = indexTarEntries(oldTar);
  } catch {
    return undefined;
  }
  if (!old) return undefined;
  const gone = new Set(removed);
  const seen = new Set<string>();
  // What is generated again: every entry of the old tar that is not a regular file, and every written path.
  const regen: string[] = [];
  const kept: TarEntry[] = [];
  for (const e of old) {
    if (isUnder(e.path, gone)) continue;
    seen.add(e.path);
    if (e.type === T_FILE && !written.has(e.path)) kept.push(e);
    else regen.push(e.path);
  }
  // Written paths, and the directories above them (made by the same writes when they are new).
  for (const w of written) {
    for (let p = w; p !== "" && !seen.has(p); p = p.slice(0, Math.max(0, p.lastIndexOf("/")))) {
      seen.add(p);
      regen.push(p);
    }
  }
  const entries: DiffEntry[] = [];
  for (const p of regen.sort(comparePaths)) {
    let st: BigIntStats | undefined;
    try {
      st = lstatSync(fsPath(join(root, p)), { bigint: true });
    } catch {
      return undefined;
    }
    if (st.isCharacterDevice() && st.rdev === 0n) return undefined; // a whiteout: walkUpper decides those
    if (st.isFile() && st.nlink > 1n) return undefined; // a hard link group inside the layer: the writer's order decides
    entries.push({ kind: "entry", path: p, stat: st });
  }
  const abs = await readXattrs(entries.map((e) => join(root, e.path)));
  const xattrs = new Map<string, ReadonlyMap<string, Buffer>>();
  for (const e of entries) {
    const attrs = abs.get(join(root, e.path));
    if (!attrs) continue;
    if (e.kind === "entry" && e.stat.isDirectory() && isOpaque(attrs)) return undefined;
    const rest = new Map([...attrs].filter(([k]) => !k.includes(".overlay.")));
    if (rest.size > 0) xattrs.set(e.path, rest);
  }
  // Merge the kept old entries (already in layer order) with the generated ones.
  const segments: SplicePlan["segments"][number][] = [];
  let i = 0;
  let j = 0;
  while (i < kept.length || j < entries.length) {
    const last = segments[segments.length - 1];
    if (j >= entries.length || (i < kept.length && comparePaths(kept[i]!.path, entries[j]!.path) < 0)) {
      const k = kept[i++]!;
      if (last?.kind === "copy" && last.end === k.start) last.end = k.end;
      else segments.push({ kind: "copy", start: k.start, end: k.end });
    } else {
      const e = entries[j++]!;
      if (last?.kind === "gen") last.entries.push(e);
      else segments.push({ kind: "gen", entries: [e] });
    }
  }
  return { source: { root, entries, xattrs }, oldTar, segments, copied: kept.length };
}
