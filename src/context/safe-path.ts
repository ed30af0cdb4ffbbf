/**
 * Safe resolution of a source path inside the build context. The context is the root `/` for resolution (Docker's
 * rule): `..` stops at the root, absolute paths and absolute symlink targets are taken relative to the context,
 * and every component is walked with lstat + readlink so no link is ever followed outside the context.
 */
import type { Stats } from "node:fs";
import { lstat, readlink } from "node:fs/promises";
import { cleanPath } from "./go-path.js";
import { ContextReadError, ContextSymlinkLoopError, describeFsError } from "./errors.js";

/** Linux's limit on symlinks followed in one resolution (MAXSYMLINKS is 40; Go's securejoin uses 255). */
const MAX_LINKS = 40;

/** Filesystem access used by the resolver: paths are context-relative ("" = root). Lets callers memoize. */
export interface SafeFs {
  /** lstat of a context-relative path, or null when it does not exist. */
  lstat(rel: string): Promise<Stats | null>;
  readlink(rel: string): Promise<string>;
}

/** How a path tried to leave the context before being clamped to it. */
export interface Escape {
  readonly via: "dotdot" | "absolute-link" | "dotdot-link";
  /** The symlink (context-relative) whose target escaped, for link escapes. */
  readonly link?: string;
  readonly target?: string;
}

/** Result of a resolution. `stat` is null when the (clamped) path does not exist. */
export interface Resolved {
  /** Real context-relative path ("" = the root), "/"-separated, no leading slash. */
  readonly contextPath: string;
  readonly stat: Stats | null;
  /** Symlinks traversed (context-relative paths), in order; used to check them against .dockerignore. */
  readonly links: readonly string[];
  /** Set when `..` or a symlink target pointed above the context root (and was clamped). */
  readonly escape: Escape | undefined;
  /** When a middle component exists but is not a directory. */
  readonly notDir: boolean;
}

/** Node fs implementation of {@link SafeFs} rooted at an absolute directory. */
export function nodeSafeFs(root: string): SafeFs {
  const abs = (rel: string): string => (rel === "" ? root : `${root}/${rel}`);
  return {
    async lstat(rel) {
      try {
        return await lstat(abs(rel));
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === "ENOENT" || code === "ENOTDIR") return null;
        throw new ContextReadError(rel, describeFsError(err), err);
      }
    },
    async readlink(rel) {
      try {
        return await readlink(abs(rel));
      } catch (err) {
        throw new ContextReadError(rel, describeFsError(err), err);
      }
    },
  };
}

/** Split a user path into components after cleaning it as an absolute path (so `..` cannot climb). */
function components(p: string): { parts: string[]; climbed: boolean } {
  const relClean = cleanPath(p.replace(/^\/+/, ""));
  const climbed = relClean === ".." || relClean.startsWith("../");
  const clean = cleanPath(`/${p}`);
  return { parts: clean === "/" ? [] : clean.slice(1).split("/"), climbed };
}

/**
 * Resolve `path` (as written in the Dockerfile: relative or absolute, any `..`) inside the context.
 * Intermediate symlinks are always followed (inside the context); the last one only with `followLinks`.
 * Throws ContextSymlinkLoopError on loops; never touches anything outside the context root.
 */
export async function resolveInContext(fs: SafeFs, path: string, followLinks: boolean): Promise<Resolved> {
  const first = components(path);
  let escape: Escape | undefined = first.climbed ? { via: "dotdot" } : undefined;
  const queue = first.parts;
  const done: string[] = [];
  const links: string[] = [];
  let linkCount = 0;
  let stat: Stats | null = null;
  let notDir = false;
  if (queue.length === 0) stat = await fs.lstat("");
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === "." || part === "") continue;
    if (part === "..") {
      if (done.length === 0 && escape === undefined) escape = { via: "dotdot" };
      done.pop();
      stat = await fs.lstat(done.join("/"));
      continue;
    }
    const rel = done.length === 0 ? part : `${done.join("/")}/${part}`;
    const st = await fs.lstat(rel);
    if (st === null) {
      // Missing: the rest is missing too; report the clamped lexical path.
      done.push(part, ...queue.filter((q) => q !== "" && q !== "."));
      return { contextPath: clampJoin(done), stat: null, links, escape, notDir };
    }
    const last = queue.length === 0;
    if (st.isSymbolicLink() && (!last || followLinks)) {
      if (++linkCount > MAX_LINKS) throw new ContextSymlinkLoopError(path);
      links.push(rel);
      const target = await fs.readlink(rel);
      const t = components(target);
      if (target.startsWith("/")) {
        done.length = 0;
        if (escape === undefined) escape = { via: "absolute-link", link: rel, target };
      } else if (escapesFrom(done.length, target) && escape === undefined) {
        escape = { via: "dotdot-link", link: rel, target };
      }
      // A relative target is resolved from the link's directory: re-queue its raw components there.
      const rawParts = target.startsWith("/") ? t.parts : target.split("/");
      queue.unshift(...rawParts);
      continue;
    }
    if (!last && !st.isDirectory()) {
      notDir = true;
      done.push(part, ...queue);
      return { contextPath: clampJoin(done), stat: null, links, escape, notDir };
    }
    done.push(part);
    stat = st;
  }
  return { contextPath: done.join("/"), stat, links, escape, notDir };
}

/** Join components lexically, clamped at the root; "" for the root. */
function clampJoin(parts: readonly string[]): string {
  return cleanPath(`/${parts.join("/")}`).slice(1);
}

/** Does a relative link target climb above the root when resolved from a directory `depth` levels deep? */
function escapesFrom(depth: number, target: string): boolean {
  let d = depth;
  for (const part of target.split("/")) {
    if (part === "..") {
      if (--d < 0) return true;
    } else if (part !== "" && part !== ".") d++;
  }
  return false;
}
