/**
 * The non-copy file actions, BuildKit's file backend: mkdir (WORKDIR), mkfile (heredoc documents) and rm. Paths are
 * resolved inside the active rootfs with symlinks rooted there.
 */
import { chmod, lchown, lutimes, mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import type { MkdirAction, MkfileAction, RmAction } from "../graph/index.js";
import { containsWildcards, matchPath, splitWildcards } from "../context/index.js";
import { FileOpError, fsFailure } from "./file-errors.js";
import type { Owner } from "./file-owner.js";
import { cleanAbs, lstatOrNull, resolveInRoot } from "./file-root-path.js";
import { mkdirAll } from "./copy-apply.js";

/** mkdir: with parents like MkdirAll (only new directories get mode, owner and time); without, like mkdir(2). */
export async function applyMkdir(root: string, a: MkdirAction, owner: Owner | undefined, time: Date | undefined): Promise<void> {
  const p = await resolveInRoot(root, cleanAbs(a.path));
  if (a.makeParents) {
    await mkdirAll(root, p.path, a.mode & 0o777, owner, time);
    return;
  }
  try {
    await mkdir(p.path, a.mode & 0o777);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return;
    throw fsFailure("create directory", a.path, err);
  }
  try {
    await chmod(p.path, a.mode & 0o777);
    if (owner !== undefined) await lchown(p.path, owner.uid, owner.gid);
    if (time !== undefined) await lutimes(p.path, time, time);
  } catch (err) {
    throw fsFailure("set owner and mode of directory", a.path, err);
  }
}

/** mkfile: write `data` (os.WriteFile: an existing file keeps its mode), then apply the owner. */
export async function applyMkfile(root: string, a: MkfileAction, owner: Owner | undefined): Promise<void> {
  const p = await resolveInRoot(root, cleanAbs(a.path));
  const existed = (await lstatOrNull(p.path)) !== null;
  try {
    await writeFile(p.path, a.data, { mode: a.mode & 0o777 });
    if (!existed) await chmod(p.path, a.mode & 0o777);
    if (owner !== undefined) await lchown(p.path, owner.uid, owner.gid);
  } catch (err) {
    throw fsFailure("write file", a.path, err);
  }
}

/** rm: remove a path (recursively), or every match of a wildcard. Symlinks are removed, never followed. */
export async function applyRm(root: string, a: RmAction): Promise<void> {
  if (!a.allowWildcard || !containsWildcards(a.path)) {
    await rmPath(root, a.path, a.allowNotFound);
    return;
  }
  const rel = cleanAbs(a.path).slice(1);
  const { prefix, pattern } = splitWildcards(rel);
  const base = await resolveInRoot(root, prefix);
  const matches: string[] = [];
  const visit = async (dir: string, relDir: string, depth: number): Promise<void> => {
    for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
      const r = relDir === "" ? name : `${relDir}/${name}`;
      if (matchPath(pattern, r)) matches.push(`${prefix}/${r}`);
      else if (depth < pattern.split("/").length && (await lstatOrNull(join(dir, name)))?.isDirectory()) await visit(join(dir, name), r, depth + 1);
    }
  };
  await visit(base.path, "", 1);
  for (const m of matches) await rmPath(root, m, true);
}

async function rmPath(root: string, path: string, allowNotFound: boolean): Promise<void> {
  const clean = cleanAbs(path);
  if (clean === "/") throw new FileOpError("TSB_OPS_FILE_FAILED", "cannot remove the root directory", { hint: "remove paths below /" });
  const dir = await resolveInRoot(root, posix.dirname(clean));
  const p = join(dir.path, posix.basename(clean));
  if (!allowNotFound) {
    const exists = await stat(p).then(() => true, () => false);
    if (!exists) throw new FileOpError("TSB_OPS_FILE_NOT_FOUND", `cannot remove ${JSON.stringify(path)}: no such file or directory`, { hint: "check the path, or allow it to be missing" });
  }
  await rm(p, { recursive: true, force: true }).catch((err: unknown) => {
    throw fsFailure("remove", path, err);
  });
}
