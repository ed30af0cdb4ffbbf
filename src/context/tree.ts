/**
 * The visible tree of a context: a directory walk applying .dockerignore (context-relative) and a selector's
 * include/exclude patterns (relative to the selected root) with Docker's rules — an excluded directory is still
 * descended when an exception could match inside it, and is kept (with only the re-included children) if one does.
 * Content digests (sha256, independent of mtime and ownership) are computed over these nodes.
 */
import type { Stats } from "node:fs";
import { sha256, type Digest } from "../util/digest.js";
import type { FileIndex } from "./file-index.js";
import type { FsView } from "./fs-view.js";
import type { IgnoreRules } from "./dockerignore.js";
import type { MatchInfo, PatternList } from "./patterns.js";
import type { EntryType } from "./types.js";

/** A visible file system object. Directories carry their visible children, sorted by name. */
export interface Node {
  readonly name: string;
  readonly contextPath: string;
  readonly stat: Stats;
  readonly type: EntryType;
  readonly children?: readonly Node[];
}

/** Include/exclude patterns of a selector, relative to `base` (the selected root's context path). */
export interface SelectorFilter {
  readonly base: string;
  readonly include: PatternList | undefined;
  readonly exclude: PatternList | undefined;
}

interface WalkState {
  readonly ignoreInfo: MatchInfo | undefined;
  readonly incInfo: MatchInfo | undefined;
  readonly excInfo: MatchInfo | undefined;
}

export function entryType(st: Stats): EntryType {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "dir";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isFIFO()) return "fifo";
  if (st.isSocket()) return "socket";
  if (st.isCharacterDevice()) return "char";
  return "block";
}

function fileDigest(mode: number, contentSha: string): Digest {
  return sha256(`tsbuild.file.v1 ${(mode & 0o7777).toString(8)} ${contentSha}`);
}

const joinRel = (dir: string, name: string): string => (dir === "" ? name : `${dir}/${name}`);

export class Tree {
  readonly #fs: FsView;
  readonly #ignore: IgnoreRules;
  readonly #index: FileIndex;
  /** Children of directories under .dockerignore only (the common, memoizable case). */
  readonly #plain = new Map<string, Promise<readonly Node[]>>();
  readonly #digests = new WeakMap<Node, Promise<Digest>>();
  readonly #files = new WeakMap<Node, Digest>();

  constructor(fs: FsView, ignore: IgnoreRules, index: FileIndex) {
    this.#fs = fs;
    this.#ignore = ignore;
    this.#index = index;
  }

  get ignore(): IgnoreRules {
    return this.#ignore;
  }

  /** A node for `rel` with `st`, its children filtered; null when neither it nor anything inside is visible. */
  async node(rel: string, st: Stats, filter: SelectorFilter | undefined, selfVisible: boolean): Promise<Node | null> {
    const type = entryType(st);
    const name = rel.slice(rel.lastIndexOf("/") + 1);
    if (type !== "dir") return selfVisible ? { name, contextPath: rel, stat: st, type } : null;
    const children = await this.children(rel, filter);
    if (!selfVisible && children.length === 0) return null;
    return { name, contextPath: rel, stat: st, type, children };
  }

  /** Visible children of directory `rel` (with its match state computed from the root down). */
  children(rel: string, filter: SelectorFilter | undefined): Promise<readonly Node[]> {
    if (filter === undefined) {
      let p = this.#plain.get(rel);
      if (p === undefined) {
        p = this.#children(rel, { ignoreInfo: this.#ignore.infoOf(rel), incInfo: undefined, excInfo: undefined }, undefined);
        this.#plain.set(rel, p);
      }
      return p;
    }
    return this.#children(rel, { ignoreInfo: this.#ignore.infoOf(rel), incInfo: undefined, excInfo: undefined }, filter);
  }

  async #children(dir: string, state: WalkState, filter: SelectorFilter | undefined): Promise<readonly Node[]> {
    const names = await this.#fs.readdir(dir);
    const stats = this.#fs.lstatChildren(dir, names);
    // Files are decided synchronously; only subdirectories recurse (their readdir is bounded by the view).
    const out: (Node | Promise<Node | null> | null)[] = [];
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const st = stats[i];
      if (st === null || st === undefined) continue; // vanished since readdir
      const rel = joinRel(dir, name);
      const ig = this.#ignore.matchChild(rel, state.ignoreInfo);
      let keep = !ig.ignored;
      let skip = ig.ignored && this.#ignore.canSkip(rel);
      let incInfo: MatchInfo | undefined;
      let excInfo: MatchInfo | undefined;
      if (filter !== undefined) {
        const sel = filter.base === "" ? rel : rel.slice(filter.base.length + 1);
        if (filter.include !== undefined) {
          const m = filter.include.match(sel, state.incInfo ?? []);
          incInfo = m.info;
          if (!m.matched) {
            keep = false;
            skip ||= filter.include.canSkipUnmatchedDir(sel);
          }
        }
        if (filter.exclude !== undefined) {
          const m = filter.exclude.match(sel, state.excInfo ?? []);
          excInfo = m.info;
          if (m.matched) {
            keep = false;
            skip ||= filter.exclude.canSkipMatchedDir(sel);
          }
        }
      }
      if (!st.isDirectory()) {
        if (keep) out.push({ name, contextPath: rel, stat: st, type: entryType(st) });
        continue;
      }
      if (skip) {
        if (keep) out.push({ name, contextPath: rel, stat: st, type: "dir", children: [] });
        continue;
      }
      const sub =
        filter === undefined && !ig.ignored
          ? this.children(rel, undefined)
          : this.#children(rel, { ignoreInfo: ig.info, incInfo, excInfo }, filter);
      out.push(
        sub.then((children) => (!keep && children.length === 0 ? null : { name, contextPath: rel, stat: st, type: "dir", children })),
      );
    }
    const done = await Promise.all(out);
    return done.filter((n): n is Node => n !== null);
  }

  /** Content digest of a node: covers content, permission bits, type, link target and (for dirs) children. */
  digest(node: Node): Promise<Digest> {
    const ready = this.#fileDigest(node);
    if (ready !== undefined) return Promise.resolve(ready);
    let p = this.#digests.get(node);
    if (p === undefined) {
      p = this.#digest(node);
      this.#digests.set(node, p);
    }
    return p;
  }

  /** A file's digest when its content hash is known without I/O (the common, unchanged case). Kept per node. */
  #fileDigest(node: Node): Digest | undefined {
    if (node.type !== "file") return undefined;
    let d = this.#files.get(node);
    if (d === undefined) {
      const sha = this.#index.knownSha(node.contextPath, node.stat);
      if (sha === undefined) return undefined;
      d = fileDigest(node.stat.mode, sha);
      this.#files.set(node, d);
    }
    return d;
  }

  async #digest(node: Node): Promise<Digest> {
    const perm = (node.stat.mode & 0o7777).toString(8);
    switch (node.type) {
      case "file":
        return fileDigest(node.stat.mode, await this.#index.contentSha(node.contextPath, node.stat));
      case "symlink":
        return sha256(`tsbuild.symlink.v1 ${JSON.stringify(await this.#fs.readlink(node.contextPath))}`);
      case "dir": {
        const kids = node.children ?? [];
        const digests = await Promise.all(kids.map((c) => this.#fileDigest(c) ?? this.digest(c)));
        const list = kids.map((c, i) => [c.name, digests[i]!]);
        return sha256(`tsbuild.dir.v1 ${perm} ${JSON.stringify(list)}`);
      }
      case "char":
      case "block":
        return sha256(`tsbuild.${node.type}.v1 ${perm} ${node.stat.rdev}`);
      case "fifo":
      case "socket":
        return sha256(`tsbuild.${node.type}.v1 ${perm}`);
    }
  }

  /**
   * Append a node and its descendants to a fingerprint: two fields per entry, its context path and its type + stat
   * (directories: mode only, their listing is the children's paths). Joined with NUL, which no path contains.
   * Returns false as soon as a non-directory entry's mtime/ctime is at or after `racyFrom` (it may change again
   * without its stat changing, so no checksum may be memoized for it).
   */
  static fingerprint(node: Node, racyFrom: number, out: string[]): boolean {
    const st = node.stat;
    if (node.type === "dir") out.push(node.contextPath, `d${st.mode}`);
    else if (st.mtimeMs >= racyFrom || st.ctimeMs >= racyFrom) return false;
    else out.push(node.contextPath, `${node.type} ${st.dev} ${st.ino} ${st.size} ${st.mtimeMs} ${st.ctimeMs} ${st.mode} ${st.rdev}`);
    const kids = node.children;
    if (kids !== undefined) for (const c of kids) if (!Tree.fingerprint(c, racyFrom, out)) return false;
    return true;
  }

  /** Depth-first list of a node's descendants (parents first), with paths relative to the node. */
  static flatten(node: Node, prefix = "", out: { node: Node; path: string }[] = []): { node: Node; path: string }[] {
    for (const c of node.children ?? []) {
      const path = prefix === "" ? c.name : `${prefix}/${c.name}`;
      out.push({ node: c, path });
      Tree.flatten(c, path, out);
    }
    return out;
  }
}
