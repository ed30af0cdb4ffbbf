/**
 * Path resolution inside a mounted root filesystem with the root as "/" (containerd continuity's RootPath): every
 * symlink met on the way is read and resolved as if the process were chrooted into `root`, and `..` never climbs
 * above it. An image symlink `/app -> /etc` therefore leads to `ROOT/etc`, never to the host's /etc.
 */
import type { Stats } from "node:fs";
import { lstat, readlink } from "node:fs/promises";
import { join } from "node:path";
import { FileOpError } from "./file-errors.js";

/** Linux's MAXSYMLINKS is 40; continuity allows 255. Anything above is a loop. */
const MAX_LINKS = 255;

/** A path resolved inside a root. */
export interface RootResolved {
  /** Absolute host path (`root` + `rel`). */
  readonly path: string;
  /** Resolved path relative to the root, "/"-separated, "" for the root itself. */
  readonly rel: string;
}

/** lstat that returns null for a missing path (or a path through a non-directory). */
export async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw err;
  }
}

/** Components of a slash path without empty and "." parts. */
export function components(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

/**
 * Resolve `path` (absolute or relative, both taken from the root) inside `root`. Symlinks in every component are
 * followed, the last one only when `followLast`. Components that do not exist are kept as written.
 */
export async function resolveInRoot(root: string, path: string, followLast = true): Promise<RootResolved> {
  const pending = components(path).reverse();
  const resolved: string[] = [];
  let links = 0;
  let missing = false;
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (name === "..") {
      resolved.pop();
      // Back in a directory that exists, or still below a missing one: either way lstat answers correctly.
      missing = false;
      continue;
    }
    const isLast = pending.length === 0;
    if (!missing && (!isLast || followLast)) {
      const st = await lstatOrNull(join(root, ...resolved, name));
      if (st === null) missing = true;
      else if (st.isSymbolicLink()) {
        if (++links > MAX_LINKS) {
          throw new FileOpError("TSB_OPS_FILE_SYMLINK_LOOP", `too many levels of symbolic links resolving ${JSON.stringify(path)} in the image`, {
            hint: "a symlink in the image points (directly or indirectly) back to itself; fix or remove it",
          });
        }
        const target = await readlink(join(root, ...resolved, name));
        if (target.startsWith("/")) resolved.length = 0;
        pending.push(...components(target).reverse());
        continue;
      }
    }
    resolved.push(name);
  }
  return { path: join(root, ...resolved), rel: resolved.join("/") };
}

/** Go's filepath.Join("/", p) for an image path: absolute, cleaned, never above "/". */
export function cleanAbs(p: string): string {
  const out: string[] = [];
  for (const c of components(p)) {
    if (c === "..") out.pop();
    else out.push(c);
  }
  return `/${out.join("/")}`;
}
