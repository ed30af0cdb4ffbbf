/**
 * Writes source matches into the active snapshot with fsutil copy semantics (BuildKit's COPY): destination parents
 * created (mode 0755, owned by --chown), a file onto an existing directory lands inside it,
 * directories merge, existing non-directories are replaced, symlinks are copied as symlinks, hard links within one
 * copy stay hard links, and mode, owner (unless --chown) and mtime come from the source. Only the top destination
 * path is resolved through image symlinks (rooted); below it nothing is ever followed: every target is lstat'ed and
 * replaced, and files are created with O_EXCL.
 */
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { chmod, copyFile, lchown, link, lutimes, mkdir, symlink, unlink } from "node:fs/promises";
import { dirname, join, posix, relative } from "node:path";
import { promisify } from "node:util";
import { FileOpError, fsFailure } from "./file-errors.js";
import type { ChmodSpec } from "./file-mode.js";
import type { Owner } from "./file-owner.js";
import { cleanAbs, components, lstatOrNull, resolveInRoot } from "./file-root-path.js";
import type { SourceEntry, SourceItem } from "./copy-sources.js";
import { isPortableXattr, readXattrs, writeXattrs } from "../snapshot/index.js";

const run = promisify(execFile);

/** Where and how a copy writes. */
export interface CopyTarget {
  /** The mounted, writable rootfs. */
  readonly root: string;
  /** --chown, resolved; undefined keeps source owners. */
  readonly owner?: Owner;
  readonly chmod?: ChmodSpec;
  readonly signal?: AbortSignal;
}

/** The image path of a host path under `root` (for messages). */
export function imagePath(root: string, p: string): string {
  const r = relative(root, p);
  return r === "" ? "/" : `/${r}`;
}

/**
 * Go's os.MkdirAll under `root` with fsutil's extras: every directory created gets `mode` (umask ignored), the owner
 * (when given) and the time (when given). `path` must already be resolved inside `root`. Returns the created paths.
 */
export async function mkdirAll(root: string, path: string, mode: number, owner?: Owner, time?: Date): Promise<string[]> {
  const created: string[] = [];
  let cur = root;
  for (const c of components(relative(root, path))) {
    cur = join(cur, c);
    const st = await lstatOrNull(cur);
    if (st !== null) {
      if (st.isDirectory()) continue;
      throw new FileOpError("TSB_OPS_COPY_DEST", `cannot create directory ${JSON.stringify(imagePath(root, cur))}: a file with that name exists`, {
        hint: "remove the file first, or copy to another path",
      });
    }
    try {
      await mkdir(cur, mode & 0o777);
      await chmod(cur, mode & 0o777);
      if (owner !== undefined) await lchown(cur, owner.uid, owner.gid);
      if (time !== undefined) await lutimes(cur, time, time);
    } catch (err) {
      throw fsFailure(owner !== undefined ? "create and chown directory" : "create directory", imagePath(root, cur), err);
    }
    created.push(cur);
  }
  return created;
}

/**
 * fsutil Copy for one match: prepare the destination, then copy the match's tree onto it. Returns the host path the
 * match's root was written to (resolved: no symlink in it below `t.root`).
 */
export async function copyItem(t: CopyTarget, item: SourceItem, dest: string, copyDirContents: boolean): Promise<string> {
  // Created parents (and a created destination directory) are 0755 even with --chmod, as in Docker 20.10's BuildKit:
  // --chmod=0600 on them would leave directories nobody can enter.
  const dirMode = 0o755;
  // The parent of the destination (or the destination itself when it names a directory: "/app/" or "/app/.").
  const base = posix.basename(dest);
  const ensure = dest.endsWith("/") || base === "." ? dest : posix.dirname(dest);
  await mkdirAll(t.root, (await resolveInRoot(t.root, cleanAbs(ensure))).path, dirMode, t.owner);

  let dst = (await resolveInRoot(t.root, cleanAbs(dest))).path;
  const srcIsDir = item.root.type === "dir";
  const dstSt = await lstatOrNull(dst);
  if ((!copyDirContents && srcIsDir && dstSt !== null) || (!srcIsDir && dstSt?.isDirectory())) {
    const name = posix.basename(`/${item.source}`);
    if (name !== "" && name !== "/" && name !== ".") dst = join(dst, name);
  }
  const target = copyDirContents && srcIsDir && dstSt === null ? dst : dirname(dst);
  await mkdirAll(t.root, target, dirMode, t.owner);
  await new TreeWriter(t).write(item, dst);
  return dst;
}

/**
 * Copy a match's tree onto `dst` (a host path below `t.root` that copyItem returned for this match before, whose
 * parents exist): what copyItem does once the destination is resolved. An incremental copy passes only the
 * entries that changed (and every directory, whose metadata is applied again).
 */
export async function writeItemAt(t: CopyTarget, item: SourceItem, dst: string): Promise<void> {
  await new TreeWriter(t).write(item, dst);
}

interface OpenDir {
  readonly entry: SourceEntry;
  readonly path: string;
  /** Apply owner/mode/times (new or non-root directory), or nothing (existing root directory). */
  readonly full: boolean;
}

/** Entry writes in flight at once within one directory. */
const IN_FLIGHT = 32;

/** Copies one match's entries, parents before children; directory metadata is applied once their children are in. */
class TreeWriter {
  readonly #t: CopyTarget;
  /** Hard links: `dev:ino` of a multiply-linked source file → the first target written for it. */
  readonly #inodes = new Map<string, string>();
  readonly #open: OpenDir[] = [];
  /** Regular files written (source, target): their extended attributes are copied at the end. */
  readonly #files: [src: string, dst: string][] = [];

  constructor(t: CopyTarget) {
    this.#t = t;
  }

  async write(item: SourceItem, dst: string): Promise<void> {
    await this.#entry(item.root, dst, false);
    // Files and symlinks of one directory are written IN_FLIGHT at a time: each takes ~5 syscalls through the
    // libuv pool, and one at a time leaves it idle (a 20,000-file COPY went 2–3× faster). Directories, hard
    // links and special files wait for everything before them, so parents exist first and directory metadata
    // is applied after all children are in.
    const pending: Promise<void>[] = [];
    const drain = async (): Promise<void> => {
      if (pending.length > 0) await Promise.all(pending.splice(0));
    };
    let n = 0;
    try {
      for (const e of item.descendants) {
        if (++n % 256 === 0) this.#t.signal?.throwIfAborted();
        const target = join(dst, e.path);
        const top = this.#open[this.#open.length - 1];
        if (top !== undefined && !target.startsWith(`${top.path}/`)) await drain();
        await this.#closeUntilParentOf(target);
        if ((e.type === "file" && e.nlink <= 1) || e.type === "symlink") {
          pending.push(this.#entry(e, target, true));
          if (pending.length >= IN_FLIGHT) await drain();
        } else {
          await drain();
          await this.#entry(e, target, true);
        }
      }
      await drain();
    } finally {
      // On failure, let the writes still in flight settle before the caller cleans up.
      await Promise.allSettled(pending);
    }
    await this.#closeUntilParentOf(undefined);
    await copyXattrs(this.#files);
  }

  async #closeUntilParentOf(target: string | undefined): Promise<void> {
    for (;;) {
      const top = this.#open[this.#open.length - 1];
      if (top === undefined || (target !== undefined && target.startsWith(`${top.path}/`))) return;
      this.#open.pop();
      // An existing (or just made by copyItem) root directory keeps its own metadata, the mtime its new children
      // gave it included: Docker 20.10's fsutil neither copies nor restores it.
      if (top.full) await this.#info(top.entry, top.path);
    }
  }

  async #entry(e: SourceEntry, target: string, overwrite: boolean): Promise<void> {
    const root = this.#t.root;
    const shown = imagePath(root, target);
    const existing = await lstatOrNull(target);
    if (e.type === "dir") {
      let created = false;
      if (existing === null) {
        await mkdir(target, e.mode & 0o777).catch((err: unknown) => {
          throw fsFailure("create directory", shown, err);
        });
        created = true;
      } else if (!existing.isDirectory()) {
        throw new FileOpError("TSB_OPS_COPY_DEST", `cannot copy to non-directory: ${shown}`, { hint: "the destination holds a file or symlink where a directory is copied; remove it first" });
      }
      this.#open.push({ entry: e, path: target, full: overwrite || created });
      return;
    }
    if (existing !== null) {
      if (existing.isDirectory()) {
        throw new FileOpError("TSB_OPS_COPY_DEST", `cannot replace to directory ${shown} with file`, { hint: "copy into the directory (end the destination with /) or remove it first" });
      }
      await unlink(target).catch((err: unknown) => {
        throw fsFailure("replace", shown, err);
      });
    }
    try {
      switch (e.type) {
        case "file": {
          const key = `${e.dev}:${e.ino}`;
          const first = e.nlink > 1 ? this.#inodes.get(key) : undefined;
          if (first !== undefined) await link(first, target);
          else {
            await copyFile(e.absPath, target, constants.COPYFILE_EXCL);
            if (e.nlink > 1) this.#inodes.set(key, target);
            this.#files.push([e.absPath, target]);
          }
          break;
        }
        case "symlink":
          await symlink(e.linkTarget ?? "", target);
          break;
        case "fifo":
          await run("mkfifo", ["-m", "600", target]);
          break;
        case "char":
        case "block":
          await run("mknod", ["-m", "600", target, e.type === "char" ? "c" : "b", String(Math.floor(e.rdev / 256) & 0xfff), String((e.rdev & 0xff) | ((e.rdev >> 12) & 0xfff00))]);
          break;
        case "socket":
          // A socket cannot carry data into an image; fsutil's mknod of one is as good as nothing.
          return;
      }
    } catch (err) {
      throw fsFailure("copy to", shown, err);
    }
    await this.#info(e, target);
  }

  /** fsutil copyFileInfo: owner (source's or --chown), mode (source's through --chmod), then times. */
  async #info(e: SourceEntry, target: string): Promise<void> {
    const shown = imagePath(this.#t.root, target);
    const owner = this.#t.owner ?? { uid: e.uid, gid: e.gid };
    try {
      await lchown(target, owner.uid, owner.gid);
    } catch (err) {
      throw fsFailure(`chown to ${owner.uid}:${owner.gid}`, shown, err);
    }
    if (e.type !== "symlink") {
      const mode = this.#t.chmod !== undefined ? this.#t.chmod.apply(e.mode, e.type === "dir") : e.mode;
      await chmod(target, mode).catch((err: unknown) => {
        throw fsFailure("chmod", shown, err);
      });
    }
    await this.#times(e, target);
  }

  async #times(e: SourceEntry, target: string): Promise<void> {
    await lutimes(target, e.atimeMs / 1000, e.mtimeMs / 1000).catch((err: unknown) => {
      throw fsFailure("set times of", imagePath(this.#t.root, target), err);
    });
  }
}

/**
 * fsutil copyXAttrs for the files of one copy, after their owner and mode (a chown clears security.capability):
 * the source's attributes (never overlay's, ACLs or SELinux labels), in one read and one write. Best effort, as
 * BuildKit's handler only logs a failure.
 */
async function copyXattrs(files: readonly (readonly [src: string, dst: string])[]): Promise<void> {
  if (files.length === 0) return;
  const found = await readXattrs(files.map(([src]) => src)).catch(() => undefined);
  const items: [string, string, Buffer][] = [];
  for (const [src, dst] of files) for (const [k, v] of found?.get(src) ?? []) if (isPortableXattr(k)) items.push([dst, k, v]);
  if (items.length === 0) return;
  await writeXattrs(items).catch(async () => {
    for (const item of items) await writeXattrs([item]).catch(() => {});
  });
}
