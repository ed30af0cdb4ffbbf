/**
 * BuildContext: the build context directory read straight from disk. Resolves sources safely, selects them with
 * COPY semantics (wildcards, followLinks, include/exclude, .dockerignore), lists them for copying, computes their
 * sha256 content checksums through the persistent index, and explains why a source matches nothing.
 */
import { stat as fsStat } from "node:fs/promises";
import { resolve as resolvePath } from "node:path";
import { sha256, type Digest } from "../util/digest.js";
import { suggest } from "../util/suggest.js";
import { cleanPath, matchPath, splitWildcards, BadPatternError } from "./go-path.js";
import { compilePatterns, loadIgnoreRules, type IgnoreRules, type IgnoreVerdict } from "./dockerignore.js";
import { ContextExcludedError, ContextNotFoundError, ContextNotMemoizedError, ContextPatternError, ContextRootError } from "./errors.js";
import { FileIndex } from "./file-index.js";
import { FsView, type DirLister } from "./fs-view.js";
import { saveListing, SelectionMemo } from "./selection-memo.js";
import type { PatternList } from "./patterns.js";
import { resolveInContext, type Resolved } from "./safe-path.js";
import { Tree, type Node, type SelectorFilter } from "./tree.js";
import type { ContextEntry, ContextStats, Explanation, Selection, Selector } from "./types.js";

/** Options of {@link openContext}. */
export interface OpenContextOptions {
  /** The context directory (made absolute). */
  readonly root: string;
  /** Absolute path of the Dockerfile: `<Dockerfile>.dockerignore` next to it wins over `<root>/.dockerignore`. */
  readonly dockerfile?: string;
  /** Ignore-file text to use instead of the files on disk. */
  readonly ignoreText?: { readonly content: string; readonly file: string };
  /** Directory for the persistent index (the tsbuild root's cache dir). Undefined = no persistence. */
  readonly indexDir?: string;
  /** Maximum concurrent fs calls. @default 64 */
  readonly concurrency?: number;
  /** Clock for the index's racy-second rule (tests). @default Date.now */
  readonly now?: () => number;
  /** Reuse a selection's stored checksum when its walk sees the same entries with the same stat. @default true */
  readonly memo?: boolean;
  /**
   * The directory is a throw-away copy (a fetched context): no file index or memo is persisted for its path, which
   * is new every build; listings for `--explain` are still stored (by checksum). @default false
   */
  readonly scratch?: boolean;
  /**
   * The most entries a checksum may hash: a bigger selection whose walk does not match a memoized checksum fails
   * with ContextNotMemoizedError instead (a quick "is everything cached?" probe that stays quick for big contexts).
   * @default Infinity
   */
  readonly maxHashedEntries?: number;
  /** Lists a directory with its children's lstat in one call (see DirLister); Node's fs calls otherwise. */
  readonly lister?: DirLister;
}

/** Bumped whenever the checksum algorithm changes, so no memo of the old algorithm is reused. */
const MEMO_VERSION = "tsbuild.selection-memo.v1";

/** Open a build context: checks the root, loads the active ignore file and the persistent index. */
export async function openContext(opts: OpenContextOptions): Promise<BuildContext> {
  const root = resolvePath(opts.root);
  try {
    if (!(await fsStat(root)).isDirectory()) throw new ContextRootError(root, "is not a directory");
  } catch (err) {
    if (err instanceof ContextRootError) throw err;
    throw new ContextRootError(root, "does not exist or cannot be read", err);
  }
  const ignore = await loadIgnoreRules({
    root,
    ...(opts.dockerfile !== undefined ? { dockerfile: resolvePath(opts.dockerfile) } : {}),
    ...(opts.ignoreText !== undefined ? { text: opts.ignoreText } : {}),
  });
  const index = await FileIndex.open({ dir: opts.scratch ? undefined : opts.indexDir, root, ...(opts.now ? { now: opts.now } : {}) });
  const memo = opts.memo === false || opts.scratch ? undefined : await SelectionMemo.open(opts.indexDir, root);
  return new BuildContext(root, ignore, index, opts.concurrency ?? 64, memo, opts.indexDir, opts.maxHashedEntries ?? Infinity, opts.lister);
}

interface Picked {
  readonly source: string;
  readonly node: Node;
}

export class BuildContext {
  /** Absolute path of the context directory. */
  readonly root: string;
  readonly #fs: FsView;
  readonly #tree: Tree;
  readonly #index: FileIndex;
  readonly #memo: SelectionMemo | undefined;
  readonly #indexDir: string | undefined;
  /** Checksums of this session by selection key (a selector is checksummed once per build). */
  readonly #sums = new Map<string, Promise<Digest>>();
  /** Checksums whose listing was stored this session. */
  readonly #listed = new Set<string>();
  /** Listings and entry digests of this session by selection key: a COPY asks for both after its checksum. */
  readonly #lists = new Map<string, Promise<readonly Selection[]>>();
  readonly #entrySums = new Map<string, Promise<ReadonlyMap<string, string>>>();
  #walkedAll = false;
  #memoHits = 0;
  readonly #maxHashed: number;

  /** Use {@link openContext}. */
  constructor(root: string, ignore: IgnoreRules, index: FileIndex, concurrency: number, memo?: SelectionMemo, indexDir?: string, maxHashed = Infinity, lister?: DirLister) {
    this.#maxHashed = maxHashed;
    this.root = root;
    this.#fs = new FsView(root, concurrency, lister);
    this.#tree = new Tree(this.#fs, ignore, index);
    this.#index = index;
    this.#memo = memo;
    this.#indexDir = indexDir;
  }

  /** The active ignore file's display name ("" when there is none). */
  get ignoreFile(): string {
    return this.#tree.ignore.file;
  }

  /** Counters of hashing work done so far (index reuse vs rehash). */
  get stats(): ContextStats {
    return { ...this.#index.stats, memoHits: this.#memoHits };
  }

  /** Whether a context-relative path is excluded by the ignore file, and by which line. */
  isIgnored(path: string): IgnoreVerdict {
    return this.#tree.ignore.isIgnored(path);
  }

  /** Resolve a source path inside the context (never outside), following the last link if asked. */
  async resolve(path: string, followLinks = false): Promise<Resolved & { readonly absPath: string }> {
    const r = await resolveInContext(this.#fs, path, followLinks);
    return { ...r, absPath: this.#fs.abs(r.contextPath) };
  }

  /**
   * sha256 checksum of a selection, for cache keys. Throws ContextNotFoundError/ContextExcludedError. Memoized: when
   * the walk sees the same entries with the same stat as when the stored checksum was computed, it is reused without
   * hashing (see selection-memo.ts for the racy-second rule).
   */
  checksum(selector: Selector): Promise<Digest> {
    return this.#once(this.#sums, selector, (key) => this.#checksum(selector, key));
  }

  async #checksum(selector: Selector, key: string): Promise<Digest> {
    const picked = await this.#pick(selector);
    if (selector.path === "" || cleanPath(`/${selector.path}`) === "/") this.#walkedAll ||= !hasFilters(selector);
    const fp = this.#memo === undefined ? undefined : fingerprint(picked, Math.floor(this.#index.stamp / 1000) * 1000);
    if (fp !== undefined) {
      const known = this.#memo!.get(key, fp);
      if (known !== undefined) {
        this.#memoHits++;
        return known as Digest;
      }
    }
    if (this.#maxHashed !== Infinity && countEntries(picked) > this.#maxHashed) throw new ContextNotMemoizedError(selector.path);
    await this.#index.load();
    const sum = await this.#computeChecksum(selector, picked);
    if (fp !== undefined) this.#memo!.set(key, fp, sum);
    if (this.#indexDir !== undefined) await this.#storeListing(this.#indexDir, sum, picked);
    return sum;
  }

  /** The checksum computed the full way: the content-hash tree over the picked nodes, through the index. */
  async #computeChecksum(selector: Selector, picked: readonly Picked[]): Promise<Digest> {
    if (!selector.wildcard) return this.#tree.digest(picked[0]!.node);
    const prefix = splitWildcards(cleanRel(selector.path)).prefix;
    const list = await Promise.all(
      picked.map(async (p) => [prefix === "" ? p.source : p.source.slice(prefix.length + 1), await this.#tree.digest(p.node)]),
    );
    return sha256(`tsbuild.selection.v1 ${JSON.stringify(list)}`);
  }

  /**
   * The content digest of every entry of a selection, by context path ("" is the context root), for `--explain`:
   * files, links and special files by their content digest (as in `checksum`), directories only by their permission
   * bits (their contents are listed themselves). Reuses the digests `checksum` computed.
   */
  entryDigests(selector: Selector): Promise<ReadonlyMap<string, string>> {
    return this.#once(this.#entrySums, selector, async () => {
      await this.#index.load();
      return this.#entryDigests(await this.#pick(selector));
    });
  }

  /** `compute(key)` once per selection key in `memo` (a failure is not kept). */
  #once<T>(memo: Map<string, Promise<T>>, selector: Selector, compute: (key: string) => Promise<T>): Promise<T> {
    const key = selectionKey(selector, this.#tree.ignore.text);
    let p = memo.get(key);
    if (p === undefined) {
      p = compute(key);
      memo.set(key, p);
      p.catch(() => memo.delete(key));
    }
    return p;
  }

  async #entryDigests(picked: readonly Picked[]): Promise<Map<string, string>> {
    const nodes = picked.flatMap((p) => [p.node, ...Tree.flatten(p.node).map((f) => f.node)]);
    const sums = await Promise.all(
      nodes.map((n) => (n.type === "dir" ? `dir ${(n.stat.mode & 0o7777).toString(8)}` : this.#tree.digest(n))),
    );
    return new Map(nodes.map((n, i) => [n.contextPath, sums[i]!]));
  }

  /** The selected entries with their stat, to copy. A wildcard may select nothing (empty array). */
  list(selector: Selector): Promise<readonly Selection[]> {
    return this.#once(this.#lists, selector, async () => {
      const picked = await this.#pick(selector);
      return Promise.all(
        picked.map(async (p) => ({
          source: p.source,
          root: await this.#entry(p.node, ""),
          descendants: await Promise.all(Tree.flatten(p.node).map((f) => this.#entry(f.node, f.path))),
        })),
      );
    });
  }

  /** Why `path` matches nothing: missing, excluded by an ignore line, or outside the context. */
  async explainMissing(path: string, opts: { readonly wildcard?: boolean; readonly followLinks?: boolean } = {}): Promise<Explanation> {
    if (opts.wildcard) return this.#explainWildcard(path);
    const r = await resolveInContext(this.#fs, path, opts.followLinks ?? false);
    const shown = JSON.stringify(path);
    if (r.stat === null) {
      if (r.escape !== undefined) {
        const how =
          r.escape.link !== undefined
            ? `symlink ${JSON.stringify(r.escape.link)} points to ${JSON.stringify(r.escape.target)}, outside the build context`
            : `it climbs above the build context root`;
        return { kind: "outside", message: `${shown} is outside the context: ${how}; inside the context it resolves to "/${r.contextPath}", which does not exist` };
      }
      const why = r.notDir ? "does not exist (a parent path is not a directory)" : "does not exist";
      return { kind: "missing", message: `${shown} ${why}${await this.#didYouMean(r.contextPath)}` };
    }
    for (const candidate of [...r.links, r.contextPath]) {
      const v = this.#tree.ignore.isIgnored(candidate);
      if (v.ignored && (candidate !== r.contextPath || (await this.#invisible(r)))) {
        const via = candidate === r.contextPath ? "" : ` (through symlink ${JSON.stringify(candidate)})`;
        return {
          kind: "excluded",
          message: `${shown} is excluded by ${v.file} line ${v.line} (${v.pattern})${via}`,
          file: v.file ?? "",
          line: v.line ?? 0,
          pattern: v.pattern ?? "",
        };
      }
    }
    return { kind: "exists", message: `${shown} exists` };
  }

  /** Persist the index (pruning entries of files no longer in the context after a whole-context walk). */
  async close(): Promise<void> {
    // A memoized checksum did not mark its files as used in the index: pruning would drop them.
    await this.#index.save(this.#walkedAll && this.#memoHits === 0);
    await this.#memo?.save();
  }

  /** Store the entry digests of a computed selection by its checksum, for `--explain` ({@link loadSelectionFiles}). */
  async #storeListing(indexDir: string, sum: Digest, picked: readonly Picked[]): Promise<void> {
    if (this.#listed.has(sum)) return;
    this.#listed.add(sum);
    const digests = new Map<string, string>();
    for (const [p, d] of await this.#entryDigests(picked)) digests.set(p, d.startsWith("sha256:") ? d.slice(7, 23) : d);
    await saveListing(indexDir, sum, digests);
  }

  async #invisible(r: Resolved): Promise<boolean> {
    if (r.stat === null || !r.stat.isDirectory()) return true;
    return (await this.#tree.children(r.contextPath, undefined)).length === 0;
  }

  async #didYouMean(contextPath: string): Promise<string> {
    const slash = contextPath.lastIndexOf("/");
    const dir = slash === -1 ? "" : contextPath.slice(0, slash);
    const st = await this.#fs.lstat(dir);
    if (st === null || !st.isDirectory()) return "";
    const names = (await this.#tree.children(dir, undefined)).map((n) => n.name);
    const s = suggest(contextPath.slice(slash + 1), names);
    return s === undefined ? "" : ` (did you mean ${JSON.stringify(slash === -1 ? s : `${dir}/${s}`)}?)`;
  }

  async #explainWildcard(path: string): Promise<Explanation> {
    const picked = await this.#pick({ path, wildcard: true });
    if (picked.length > 0) return { kind: "exists", message: `${JSON.stringify(path)} matches ${picked.length} path(s)` };
    // Look again without the ignore file: if something matches there, the ignore file hid it.
    const rel = cleanRel(path);
    const { prefix, pattern } = splitWildcards(rel);
    const base = await resolveInContext(this.#fs, prefix, true);
    if (base.stat !== null && base.stat.isDirectory()) {
      for (const cand of await this.#rawMatches(base.contextPath, prefix, pattern)) {
        const v = this.#tree.ignore.isIgnored(cand.real);
        if (v.ignored) {
          return {
            kind: "excluded",
            message: `${JSON.stringify(path)} only matches paths excluded by ${v.file} line ${v.line} (${v.pattern}), e.g. ${JSON.stringify(cand.source)}`,
            file: v.file ?? "",
            line: v.line ?? 0,
            pattern: v.pattern ?? "",
          };
        }
      }
    }
    return { kind: "missing", message: `no file in the build context matches ${JSON.stringify(path)}` };
  }

  /** Matches of a wildcard ignoring .dockerignore (for explanations only; bounded depth). */
  async #rawMatches(real: string, prefix: string, pattern: string): Promise<{ real: string; source: string }[]> {
    const out: { real: string; source: string }[] = [];
    const maxDepth = pattern.split("/").length + (pattern.match(/\[/g)?.length ?? 0);
    const visit = async (dir: string, rp: string, depth: number): Promise<void> => {
      for (const name of await this.#fs.readdir(dir)) {
        const childRp = rp === "" ? name : `${rp}/${name}`;
        const childReal = dir === "" ? name : `${dir}/${name}`;
        if (safeMatch(pattern, childRp)) out.push({ real: childReal, source: prefix === "" ? childRp : `${prefix}/${childRp}` });
        else if (depth < maxDepth && (await this.#fs.lstat(childReal))?.isDirectory()) await visit(childReal, childRp, depth + 1);
      }
    };
    await visit(real, "", 1);
    return out;
  }

  async #pick(selector: Selector): Promise<Picked[]> {
    const follow = selector.followLinks ?? false;
    if (!selector.wildcard) {
      const node = await this.#resolveNode(selector.path, follow, selector);
      return [{ source: cleanRel(selector.path), node }];
    }
    const rel = cleanRel(selector.path);
    const { prefix, pattern } = splitWildcards(rel);
    if (pattern === "") return [{ source: rel, node: await this.#resolveNode(rel, follow, selector) }];
    const base = await resolveInContext(this.#fs, prefix, true);
    if (base.stat === null || !base.stat.isDirectory() || (await this.#linkIgnored(base))) return [];
    const maxDepth = pattern.split("/").length + (pattern.match(/\[/g)?.length ?? 0);
    const out: Picked[] = [];
    const visit = async (nodes: readonly Node[], rp: string, depth: number): Promise<void> => {
      for (const n of nodes) {
        const childRp = rp === "" ? n.name : `${rp}/${n.name}`;
        const source = prefix === "" ? childRp : `${prefix}/${childRp}`;
        if (safeMatch(pattern, childRp)) {
          if (follow && n.type === "symlink") out.push({ source, node: await this.#resolveNode(source, true, selector) });
          else out.push({ source, node: await this.#filtered(n, selector) });
        } else if (n.type === "dir" && depth < maxDepth) await visit(n.children ?? [], childRp, depth + 1);
      }
    };
    await visit(await this.#tree.children(base.contextPath, undefined), "", 1);
    return out;
  }

  async #linkIgnored(r: Resolved): Promise<boolean> {
    return r.links.some((l) => this.#tree.ignore.isIgnored(l).ignored);
  }

  /** Re-walk a node with the selector's include/exclude patterns (no-op without them). */
  async #filtered(node: Node, selector: Selector): Promise<Node> {
    const filter = compileFilter(selector, node.contextPath);
    if (filter === undefined || node.type !== "dir") return node;
    return { ...node, children: await this.#tree.children(node.contextPath, filter) };
  }

  async #resolveNode(path: string, follow: boolean, selector: Selector): Promise<Node> {
    const r = await resolveInContext(this.#fs, path, follow);
    if (r.stat === null || (await this.#linkIgnored(r))) throw await this.#notFound(path, follow);
    const selfVisible = !this.#tree.ignore.isIgnored(r.contextPath).ignored;
    const node = await this.#tree.node(r.contextPath, r.stat, compileFilter(selector, r.contextPath), selfVisible);
    if (node === null) throw await this.#notFound(path, follow);
    return node;
  }

  async #notFound(path: string, follow: boolean): Promise<Error> {
    const e = await this.explainMissing(path, { followLinks: follow });
    if (e.kind === "excluded") return new ContextExcludedError(cleanRel(path) || "/", e.file, e.line, e.pattern);
    return new ContextNotFoundError(path, e.message.replace(`${JSON.stringify(path)} `, ""));
  }

  async #entry(node: Node, path: string): Promise<ContextEntry> {
    const st = node.stat;
    const base = {
      path,
      contextPath: node.contextPath,
      absPath: this.#fs.abs(node.contextPath),
      type: node.type,
      mode: st.mode,
      size: st.size,
      mtimeMs: st.mtimeMs,
      uid: st.uid,
      gid: st.gid,
      dev: st.dev,
      ino: st.ino,
      nlink: st.nlink,
      rdev: st.rdev,
    };
    return node.type === "symlink" ? { ...base, linkTarget: await this.#fs.readlink(node.contextPath) } : base;
  }
}

/** What a selection's checksum depends on besides the files: the selector and the ignore file's text. */
function selectionKey(s: Selector, ignoreText: string): string {
  const sel = [s.path, s.wildcard ?? false, s.followLinks ?? false, s.include ?? [], s.exclude ?? []];
  return sha256(JSON.stringify([MEMO_VERSION, sel, ignoreText]));
}

/** How many entries the picked nodes hold, themselves included. */
function countEntries(picked: readonly Picked[]): number {
  const count = (n: Node): number => 1 + (n.children ?? []).reduce((sum, c) => sum + count(c), 0);
  return picked.reduce((sum, p) => sum + count(p.node), 0);
}

/** sha256 of the picked nodes' fingerprint (see Tree.fingerprint); undefined when an entry is racy. */
function fingerprint(picked: readonly Picked[], racyFrom: number): string | undefined {
  const out: string[] = [];
  for (const p of picked) {
    out.push(p.source, "pick");
    if (!Tree.fingerprint(p.node, racyFrom, out)) return undefined;
  }
  return sha256(out.join("\0"));
}

function hasFilters(s: Selector): boolean {
  return (s.include?.length ?? 0) > 0 || (s.exclude?.length ?? 0) > 0;
}

/** Clean a source path as seen from the context root: "" for the root, no leading slash, no `..` above root. */
function cleanRel(path: string): string {
  return cleanPath(`/${path}`).slice(1);
}

function safeMatch(pattern: string, name: string): boolean {
  try {
    return matchPath(pattern, name);
  } catch (err) {
    if (err instanceof BadPatternError) throw new ContextPatternError(pattern, "COPY source", 0, err);
    throw err;
  }
}

function compileFilter(selector: Selector, base: string): SelectorFilter | undefined {
  if (!hasFilters(selector)) return undefined;
  const list = (pats: readonly string[] | undefined, label: string): PatternList | undefined =>
    pats === undefined || pats.length === 0 ? undefined : compilePatterns(pats.map((text) => ({ text, line: 0, file: label })), label);
  return { base, include: list(selector.include, "include pattern"), exclude: list(selector.exclude, "--exclude") };
}
