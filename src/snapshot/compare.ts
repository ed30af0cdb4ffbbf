/**
 * Which entries of a snapshot's changes really changed, the way containerd's overlay differ decides it: an entry
 * that also exists below with the same type, mode, owner, device number and extended attributes is unchanged
 * when it is a directory (its mtime only moved because something inside it was created or removed), and, when it
 * is not, also has the same size and mtime (and, if both mtimes lost their nanoseconds to a tar, the same
 * content). Unchanged directories still go into the layer as parents of changed entries, as containerd's
 * ChangeWriter writes them, with the new metadata.
 */
import { readFileSync, readlinkSync, type BigIntStats } from "node:fs";
import { readXattrs } from "./native.js";

/** One side of a comparison. */
export interface Side {
  readonly abs: string;
  readonly stat: BigIntStats;
}

function sameXattrs(a: ReadonlyMap<string, Buffer> | undefined, b: ReadonlyMap<string, Buffer> | undefined): boolean {
  const ka = [...(a?.keys() ?? [])].filter((k) => !k.includes(".overlay.")).sort();
  const kb = [...(b?.keys() ?? [])].filter((k) => !k.includes(".overlay.")).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a!.get(k)!.equals(b!.get(k)!));
}

function sameContent(a: Side, b: Side): boolean {
  if (a.stat.isSymbolicLink()) return readlinkSync(a.abs) === readlinkSync(b.abs);
  if (!a.stat.isFile() || a.stat.size === 0n) return true;
  return readFileSync(a.abs).equals(readFileSync(b.abs));
}

/**
 * Docker 20.10's overlay2 graphdriver exports a RUN or COPY layer as its upperdir, verbatim: a directory that
 * only got a child created and removed again, a chmod undone, a file rewritten with the same bytes and times, all
 * go into the layer (the conformance goldens of fixtures/conformance show it). containerd's overlay differ, which
 * later BuildKit uses, leaves such copied-up entries out; sameEntry keeps that rule, unused while this is true.
 */
const DOCKER_20_10_UPPERDIR = true;

/** Whether `upper` is the same entry as `lower` for the purpose of a layer (xattrs as read by getfattr). */
export function sameEntry(upper: Side, lower: Side, upperX: ReadonlyMap<string, Buffer> | undefined, lowerX: ReadonlyMap<string, Buffer> | undefined): boolean {
  // Docker 20.10 (overlay2's native diff) tars the upperdir as it is: whatever was copied up is in the layer.
  if (DOCKER_20_10_UPPERDIR) return false;
  const u = upper.stat;
  const l = lower.stat;
  if (u.mode !== l.mode || u.uid !== l.uid || u.gid !== l.gid || u.rdev !== l.rdev) return false;
  if (!sameXattrs(upperX, lowerX)) return false;
  if (u.isDirectory()) return true;
  // A new hard link to a file from below copies it up: the layer holds it (and the link as a tar hardlink to it),
  // as Docker 20.10's layer of the upperdir does.
  if (u.nlink > l.nlink) return false;
  if (u.size !== l.size) return false;
  const second = 1_000_000_000n;
  if (u.mtimeNs / second !== l.mtimeNs / second) return false;
  const [un, ln] = [u.mtimeNs % second, l.mtimeNs % second];
  if (un === 0n && ln === 0n) return sameContent(upper, lower);
  return un === ln;
}

/** A candidate: a changed-looking entry at `path` whose counterpart below is at `lowerAbs`. */
export interface Candidate {
  readonly path: string;
  readonly upper: Side;
  readonly lower: Side;
}

/**
 * Paths of the candidates that did not really change. `upperX` holds the upper side's xattrs by absolute path
 * when already read; the lower side's are read here in one batch.
 */
export async function unchangedPaths(cands: readonly Candidate[], upperX?: ReadonlyMap<string, ReadonlyMap<string, Buffer>>): Promise<Set<string>> {
  const out = new Set<string>();
  if (DOCKER_20_10_UPPERDIR) return out; // nothing is left out: no lower xattrs to read
  // only entries whose stat already matches need their xattrs compared
  const close = cands.filter((c) => c.upper.stat.mode === c.lower.stat.mode && c.upper.stat.uid === c.lower.stat.uid && c.upper.stat.gid === c.lower.stat.gid);
  if (close.length === 0) return out;
  const lx = await readXattrs(close.map((c) => c.lower.abs));
  const ux = upperX ?? (await readXattrs(close.map((c) => c.upper.abs)));
  for (const c of close) {
    if (sameEntry(c.upper, c.lower, ux.get(c.upper.abs), lx.get(c.lower.abs))) out.add(c.path);
  }
  return out;
}

/** Every proper ancestor directory of `path` ("a/b/c" → "a", "a/b"). */
export function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let i = path.indexOf("/"); i > 0; i = path.indexOf("/", i + 1)) out.push(path.slice(0, i));
  return out;
}

