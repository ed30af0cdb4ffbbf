/**
 * The filesystem outputs: `type=local` (the final tree copied into a directory) and `type=tar` (the final tree as
 * one tar stream). Like BuildKit's local exporter, copied files belong to the invoking user (no chown: the process
 * runs as session root, which is the invoking user on the host) and keep modes, symlinks, hard links and mtimes;
 * the tar keeps the image's own owners. With SOURCE_DATE_EPOCH every mtime becomes the epoch, as BuildKit does.
 */
import { lstatSync, type BigIntStats } from "node:fs";
import { chmod, copyFile, link, lstat, lutimes, mkdir, readlink, rm, symlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { fsPath, sortedNames, writeLayerTar, type DiffEntry, type DiffSource } from "../snapshot/index.js";
import { ExportError } from "./errors.js";

/** Options of the filesystem outputs. */
export interface FsOutputOptions {
  /** SOURCE_DATE_EPOCH: every mtime is set to it. */
  readonly sourceDateEpoch?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Called for entries that cannot be copied (devices, sockets), with the relative path. */
  readonly onSkip?: ((path: string, why: string) => void) | undefined;
}

/** Every entry under `root`, parents before children, siblings by name (the order layer tars use). */
function walkTree(root: string, sourceDateEpoch?: number): DiffEntry[] {
  const out: DiffEntry[] = [];
  const epochMs = sourceDateEpoch === undefined ? undefined : BigInt(sourceDateEpoch) * 1000n;
  const walk = (rel: string): void => {
    // A name that is not UTF-8 keeps its bytes instead of vanishing in decoding.
    const names = sortedNames(rel === "" ? root : join(root, rel));
    for (const name of names) {
      const path = rel === "" ? name : `${rel}/${name}`;
      let stat = lstatSync(fsPath(join(root, path)), { bigint: true });
      if (epochMs !== undefined) {
        stat = Object.assign(Object.create(Object.getPrototypeOf(stat) as object) as BigIntStats, stat, { mtimeMs: epochMs, mtimeNs: epochMs * 1000000n });
      }
      out.push({ kind: "entry", path, stat });
      if (stat.isDirectory()) walk(path);
    }
  };
  walk("");
  return out;
}

function writeFailed(what: string, err: unknown): ExportError {
  return new ExportError("TSB_EXPORT_WRITE", `${what}: ${(err as Error).message}`, {
    cause: err,
    hint: "check that the destination is writable and has free space",
  });
}

/** Write the tree under `root` as one uncompressed tar stream to `out` (ended when done). */
export async function writeTreeTar(root: string, out: Writable, opts: FsOutputOptions = {}): Promise<void> {
  const source: DiffSource = { root, entries: walkTree(root, opts.sourceDateEpoch), xattrs: new Map() };
  const pack = tar.pack();
  const flow = pipeline(pack, out, opts.signal ? { signal: opts.signal } : {});
  const write = writeLayerTar(source, pack, { signal: opts.signal }).then(
    () => pack.finalize(),
    (err: unknown) => {
      pack.destroy(err as Error);
      throw err;
    },
  );
  try {
    await Promise.all([write, flow]);
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith("TSB_")) throw err;
    throw writeFailed("writing the filesystem tar failed", err);
  }
}

/** Remove whatever is at `path` unless it is a directory and `keepDir`. */
async function clear(path: string, keepDir: boolean): Promise<void> {
  const st = await lstat(fsPath(path)).catch(() => undefined);
  if (!st) return;
  if (keepDir && st.isDirectory()) return;
  await rm(fsPath(path), { recursive: true, force: true });
}

/**
 * Copy the tree under `root` into `dest` (created; existing entries are merged into, replaced where they clash).
 * Files are owned by the calling user; modes, symlinks, hard links and mtimes are kept.
 */
export async function copyTree(root: string, dest: string, opts: FsOutputOptions = {}): Promise<void> {
  const entries = walkTree(root, opts.sourceDateEpoch);
  const links = new Map<string, string>();
  const dirs: { path: string; stat: BigIntStats }[] = [];
  const time = (st: BigIntStats): [number, number] => [Number(st.atimeMs) / 1000, Number(st.mtimeMs) / 1000];
  try {
    await mkdir(dest, { recursive: true });
    for (const e of entries) {
      opts.signal?.throwIfAborted();
      if (e.kind !== "entry") continue;
      const st = e.stat;
      const src = join(root, e.path);
      const dst = join(dest, e.path);
      const mode = Number(st.mode & 0o7777n);
      if (st.isDirectory()) {
        await clear(dst, true);
        await mkdir(fsPath(dst), { recursive: true, mode: 0o700 });
        await chmod(fsPath(dst), 0o700);
        dirs.push({ path: dst, stat: st });
      } else if (st.isSymbolicLink()) {
        await clear(dst, false);
        await symlink(await readlink(fsPath(src), { encoding: "buffer" }), fsPath(dst));
        await lutimes(fsPath(dst), ...time(st));
      } else if (st.isFile()) {
        await clear(dst, false);
        const id = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1n ? links.get(id) : undefined;
        if (first !== undefined) {
          await link(fsPath(first), fsPath(dst));
          continue;
        }
        if (st.nlink > 1n) links.set(id, dst);
        await copyFile(fsPath(src), fsPath(dst));
        await chmod(fsPath(dst), mode);
        await utimes(fsPath(dst), ...time(st));
      } else {
        opts.onSkip?.(e.path, st.isFIFO() ? "a named pipe" : st.isSocket() ? "a socket" : "a device node");
      }
    }
    // Directory modes and times last (children first), so read-only directories can be filled and keep their mtime.
    for (const d of dirs.reverse()) {
      await chmod(fsPath(d.path), Number(d.stat.mode & 0o7777n));
      await utimes(fsPath(d.path), ...time(d.stat));
    }
  } catch (err) {
    if ((err as { name?: string }).name === "AbortError") throw err;
    throw writeFailed(`copying the build result to ${dest} failed`, err);
  }
}
