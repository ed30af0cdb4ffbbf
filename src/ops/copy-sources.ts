/**
 * What a COPY/ADD reads: its source matches, each a root entry plus the entries below it (parents before children),
 * from one of three inputs — the build context (`local`, listed by the context room, which resolves paths safely and
 * applies .dockerignore; owners become 0:0 as BuildKit's file sync resets them), another stage or image (`fs`,
 * walked here in a read-only view with fsutil's wildcard and include/exclude rules; owners kept), or a downloaded
 * file (`http`, mode 0600, owner 0:0).
 */
import type { Stats } from "node:fs";
import { readdir, readlink } from "node:fs/promises";
import { join, posix } from "node:path";
import type { CopyAction } from "../graph/index.js";
import { PatternList, containsWildcards, matchPath, splitWildcards, cleanPath, type BuildContext, type MatchInfo } from "../context/index.js";
import { FileOpError } from "./file-errors.js";
import { components, lstatOrNull, resolveInRoot } from "./file-root-path.js";

/** File type of a source entry (same names as the context room's EntryType). */
export type SourceType = "file" | "dir" | "symlink" | "fifo" | "socket" | "char" | "block";

/** One file system object to copy. */
export interface SourceEntry {
  /** Path relative to the match's root ("" for the root itself), "/"-separated. */
  readonly path: string;
  /** Host path to read from. */
  readonly absPath: string;
  readonly type: SourceType;
  /** Permission bits with setuid/setgid/sticky (0o7777 range). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtimeMs: number;
  readonly atimeMs: number;
  readonly dev: number;
  readonly ino: number;
  readonly nlink: number;
  readonly rdev: number;
  readonly linkTarget?: string;
}

/** One match of a source path: for a wildcard each match, otherwise exactly one. */
export interface SourceItem {
  /** The source as matched, unresolved (its base name names the copy in a directory destination). */
  readonly source: string;
  readonly root: SourceEntry;
  readonly descendants: readonly SourceEntry[];
}

/** Whether a copy action treats its source path as a wildcard. */
export function isWildcard(action: CopyAction): boolean {
  return action.allowWildcard && containsWildcards(action.srcPath);
}

/** The context selector of a copy action (also used for its content checksum). */
export function contextSelector(action: CopyAction): { path: string; wildcard: boolean; followLinks: boolean; include?: readonly string[]; exclude?: readonly string[] } {
  return {
    path: action.srcPath,
    wildcard: isWildcard(action),
    followLinks: action.followSymlinks,
    ...(action.includePatterns?.length ? { include: action.includePatterns } : {}),
    ...(action.excludePatterns?.length ? { exclude: action.excludePatterns } : {}),
  };
}

/** Sources of a copy action from the build context. */
export async function listFromContext(ctx: BuildContext, action: CopyAction): Promise<SourceItem[]> {
  const selections = await ctx.list(contextSelector(action));
  const now = Date.now();
  const items = selections.map((s) => {
    const parents = syncedParents(s.descendants);
    return {
      source: s.source,
      root: fromContext(s.root, s.descendants.length > 0 ? now : undefined),
      descendants: s.descendants.map((e) => fromContext(e, parents.has(e.path) ? now : undefined)),
    };
  });
  if (items.length === 0 && isWildcard(action) && !action.allowEmptyWildcard) {
    const why = await ctx.explainMissing(action.srcPath, { wildcard: true, followLinks: action.followSymlinks });
    throw notFound(action.srcPath, why.message);
  }
  await checkRequired(action, items, async (p) => (await ctx.explainMissing(p, { followLinks: false })).message);
  return items;
}

/**
 * Directories that receive at least one entry of the listing. Docker's (20.10, BuildKit v0.8) file sync writes a
 * directory's mtime before its children, so every context directory with something copied below it reaches the
 * image with the time of the build; only empty (or fully ignored) directories keep their own mtime.
 */
function syncedParents(descendants: readonly { path: string }[]): Set<string> {
  const parents = new Set<string>();
  for (const d of descendants) {
    const cut = d.path.lastIndexOf("/");
    if (cut > 0) parents.add(d.path.slice(0, cut));
  }
  return parents;
}

function fromContext(
  e: { path: string; absPath: string; type: SourceType; mode: number; mtimeMs: number; dev: number; ino: number; nlink: number; rdev: number; linkTarget?: string },
  syncedAt?: number,
): SourceEntry {
  const mtimeMs = e.type === "dir" && syncedAt !== undefined ? syncedAt : e.mtimeMs;
  return {
    path: e.path,
    absPath: e.absPath,
    type: e.type,
    mode: e.mode & 0o7777,
    uid: 0,
    gid: 0,
    mtimeMs,
    atimeMs: mtimeMs,
    dev: e.dev,
    ino: e.ino,
    nlink: e.nlink,
    rdev: e.rdev,
    ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
  };
}

/** The downloaded file of an ADD <url>: mode 0600 and owner 0:0 (BuildKit's http source), its mtime kept. */
export async function listFromHttp(path: string, filename: string): Promise<SourceItem[]> {
  const st = await lstatOrNull(path);
  if (st === null || !st.isFile()) throw notFound(filename, "the downloaded file is missing");
  return [{ source: filename, root: { ...fromStat("", path, st), mode: 0o600, uid: 0, gid: 0 }, descendants: [] }];
}

/** Sources of a copy action from a mounted stage or image at `root`. */
export async function listFromTree(root: string, action: CopyAction, label: string, signal?: AbortSignal): Promise<SourceItem[]> {
  const include = compile(action.includePatterns, "include pattern");
  const exclude = compile(action.excludePatterns, "--exclude");
  const matches = isWildcard(action) ? await resolveWildcards(root, action.srcPath, action.followSymlinks) : [cleanPath(`/${action.srcPath}`).slice(1)];
  if (matches.length === 0 && !action.allowEmptyWildcard) throw notFound(action.srcPath, `no file in ${label} matches`);
  const items: SourceItem[] = [];
  for (const m of matches) {
    signal?.throwIfAborted();
    const followed = await resolveInRoot(root, m, action.followSymlinks);
    const st = await lstatOrNull(followed.path);
    if (st === null) throw notFound(isWildcard(action) ? `/${m}` : action.srcPath, `not found in ${label}`);
    const rootEntry = await entryOf("", followed.path, st);
    const descendants: SourceEntry[] = [];
    if (st.isDirectory()) await walk(followed.path, "", include, exclude, descendants, signal);
    items.push({ source: m, root: rootEntry, descendants: prune(descendants) });
  }
  await checkRequired(action, items, async () => `not found in ${label}`);
  return items;
}

function notFound(path: string, why: string): FileOpError {
  return new FileOpError("TSB_OPS_COPY_NOT_FOUND", `${JSON.stringify(path)}: ${why}`, {
    hint: "check the source path: it is resolved from the root of the context or stage it is copied from",
  });
}

/** COPY --parents without wildcards requires `src/pattern` to exist (BuildKit's RequiredPaths). */
async function checkRequired(action: CopyAction, items: readonly SourceItem[], explain: (p: string) => Promise<string>): Promise<void> {
  if (!action.parents || action.includePatterns?.length !== 1) return;
  const pattern = action.includePatterns[0]!;
  if (containsWildcards(action.srcPath) || containsWildcards(pattern)) return;
  const want = components(pattern).join("/");
  const found = items.some((it) => it.descendants.some((d) => d.path === want || d.path.startsWith(`${want}/`)));
  if (!found) {
    const full = posix.join(action.srcPath, want);
    throw notFound(full, (await explain(full)).replace(`${JSON.stringify(full)} `, ""));
  }
}

function compile(patterns: readonly string[] | undefined, label: string): PatternList | undefined {
  if (patterns === undefined || patterns.length === 0) return undefined;
  try {
    return PatternList.compile(patterns.map((text) => ({ text, line: 0, file: label })));
  } catch (err) {
    throw new FileOpError("TSB_OPS_COPY_FAILED", `invalid ${label} ${JSON.stringify(patterns.join(" "))}`, { cause: err, hint: "fix the pattern syntax (Go filepath.Match rules)" });
  }
}

/** fsutil ResolveWildcards: walk below the wildcard-free prefix, match the rest per path, never descend a match. */
async function resolveWildcards(root: string, srcPath: string, followLinks: boolean): Promise<string[]> {
  const rel = cleanPath(`/${srcPath}`).slice(1);
  const { prefix, pattern } = splitWildcards(rel);
  const base = await resolveInRoot(root, prefix, followLinks);
  const baseSt = await lstatOrNull(base.path);
  if (baseSt === null || !baseSt.isDirectory()) return [];
  // `*` never matches "/", so a match is at most as deep as the pattern (a `[^…]` class may still match "/").
  const maxDepth = pattern.split("/").length + (pattern.match(/\[/g)?.length ?? 0);
  const out: string[] = [];
  const visit = async (dir: string, relDir: string, depth: number): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const r = relDir === "" ? name : `${relDir}/${name}`;
      const st = await lstatOrNull(join(dir, name));
      if (st === null) continue;
      let matched: boolean;
      try {
        matched = matchPath(pattern, r);
      } catch (err) {
        throw new FileOpError("TSB_OPS_COPY_FAILED", `invalid wildcard ${JSON.stringify(srcPath)}`, { cause: err, hint: "fix the pattern syntax (Go filepath.Match rules)" });
      }
      if (matched) out.push(prefix === "" ? r : `${prefix}/${r}`);
      else if (st.isDirectory() && depth < maxDepth) await visit(join(dir, name), r, depth + 1);
    }
  };
  await visit(base.path, "", 1);
  return out;
}

interface Walked extends SourceEntry {
  readonly included: boolean;
}

/** Walk a directory with fsutil copy's include/exclude rules (patterns relative to the match root). */
async function walk(dir: string, rel: string, include: PatternList | undefined, exclude: PatternList | undefined, out: SourceEntry[], signal: AbortSignal | undefined, incInfo?: MatchInfo, excInfo?: MatchInfo): Promise<void> {
  signal?.throwIfAborted();
  for (const name of (await readdir(dir)).sort()) {
    const r = rel === "" ? name : `${rel}/${name}`;
    let included = true;
    let excluded = false;
    let childInc: MatchInfo | undefined;
    let childExc: MatchInfo | undefined;
    if (include !== undefined) {
      const m = include.match(r, incInfo);
      included = m.matched;
      childInc = m.info;
    }
    if (exclude !== undefined) {
      const m = exclude.match(r, excInfo);
      childExc = m.info;
      if (m.matched) [included, excluded] = [false, true];
    }
    if (!included && include === undefined && !exclude?.hasExceptions) continue;
    const abs = join(dir, name);
    const st = await lstatOrNull(abs);
    if (st === null) continue;
    if (!included && !st.isDirectory()) continue;
    out.push({ ...(await entryOf(r, abs, st)), included } as Walked);
    if (st.isDirectory() && !(excluded && !exclude?.hasExceptions)) await walk(abs, r, include, exclude, out, signal, childInc, childExc);
  }
}

/** Keep included entries and the directories leading to them (created lazily by fsutil). */
function prune(entries: readonly SourceEntry[]): SourceEntry[] {
  const needed = new Set<string>();
  for (const e of entries) {
    if (!(e as Walked).included) continue;
    const parts = e.path.split("/");
    for (let i = 1; i < parts.length; i++) needed.add(parts.slice(0, i).join("/"));
  }
  return entries.filter((e) => (e as Walked).included || needed.has(e.path)).map((e) => {
    const { included: _drop, ...rest } = e as Walked;
    return rest;
  });
}

async function entryOf(path: string, abs: string, st: Stats): Promise<SourceEntry> {
  const e = fromStat(path, abs, st);
  return e.type === "symlink" ? { ...e, linkTarget: await readlink(abs) } : e;
}

function fromStat(path: string, absPath: string, st: Stats): SourceEntry {
  const type: SourceType = st.isFile()
    ? "file"
    : st.isDirectory()
      ? "dir"
      : st.isSymbolicLink()
        ? "symlink"
        : st.isFIFO()
          ? "fifo"
          : st.isSocket()
            ? "socket"
            : st.isCharacterDevice()
              ? "char"
              : "block";
  return {
    path,
    absPath,
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    mtimeMs: st.mtimeMs,
    atimeMs: st.atimeMs,
    dev: st.dev,
    ino: st.ino,
    nlink: st.nlink,
    rdev: st.rdev,
  };
}
