/**
 * A build context that arrives as a tar archive (on standard input or from a URL), possibly compressed: detected by
 * magic bytes as `docker build` does (moby's DetectCompression, then a valid tar header), and extracted into a
 * directory tsbuild owns. The archive may be hostile: names climbing above the destination (tar-slip), entries
 * written through a symlink, hard links leaving it and relative symlinks pointing above it are refused; device
 * nodes, FIFOs and sockets are skipped; entry count, entry size and total size are bounded.
 */
import { createWriteStream } from "node:fs";
import { chmod, link, lstat, lutimes, mkdir, rm, symlink } from "node:fs/promises";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { decompress, detectCompression, isTarHeader, peek } from "../util/archive-stream.js";
import { ContextError } from "./errors.js";

/**
 * Whether the first bytes of a stream make it a context archive, as `docker build -` decides: any compressed
 * stream is an archive; an uncompressed one is when it starts with a valid tar header. Otherwise it is text.
 */
export function isContextArchive(head: Buffer): boolean {
  return detectCompression(head) !== "none" || isTarHeader(head);
}

/** Bounds of an extraction (a hostile archive cannot fill the disk or the inode table unnoticed). */
export interface ArchiveLimits {
  /** @default 100 GiB */
  readonly maxTotalBytes?: number;
  /** @default 1,000,000 */
  readonly maxEntries?: number;
}

function archiveError(what: string, hint = "check the archive: it must be a tar file (optionally gzip, bzip2, xz or zstd compressed)", cause?: unknown): ContextError {
  return new ContextError("TSB_CONTEXT_ARCHIVE", `cannot extract the build context archive: ${what}`, undefined, { hint, ...(cause ? { cause } : {}) });
}

function escape(name: string, why: string): ContextError {
  return new ContextError("TSB_CONTEXT_ARCHIVE_ESCAPE", `build context archive entry ${JSON.stringify(name)} ${why}`, name, {
    hint: "the archive tries to write outside the context (tar-slip); repack it without such entries",
  });
}

/** Clean an entry name relative to the destination; throws when it climbs above it. */
function entryRel(name: string): string {
  const out: string[] = [];
  for (const c of name.split("/")) {
    if (c === "" || c === ".") continue;
    if (c !== "..") out.push(c);
    else if (out.pop() === undefined) throw escape(name, "is outside of the context");
  }
  return out.join("/");
}

/**
 * Extract the (possibly compressed) tar stream `input` into the empty directory `dest`. Owners are not kept (the
 * files belong to the user running tsbuild; COPY gives them 0:0 anyway); modes and mtimes come from the headers.
 * Returns the number of entries extracted.
 */
export async function extractContextArchive(input: Readable, dest: string, limits: ArchiveLimits = {}, signal?: AbortSignal): Promise<number> {
  const maxTotal = limits.maxTotalBytes ?? 100 * 2 ** 30;
  const maxEntries = limits.maxEntries ?? 1_000_000;
  const head = await peek(input, 8);
  const source = await decompress(head.stream, detectCompression(head.head), {
    cannotRun: (tool, hint) => archiveError(`cannot run ${tool}`, hint),
    failed: (tool, code) => archiveError(`${tool} failed to decompress it (exit ${code})`, "the archive is corrupt or truncated"),
  });
  const extract = tar.extract();
  const feeding = pipeline(source, extract).catch((err: unknown) => {
    throw err instanceof ContextError ? err : archiveError((err as Error).message ?? String(err), "the archive is corrupt or truncated", err);
  });
  feeding.catch(() => {});
  // Directories this extraction made: the only ones an entry may be written into (never through a symlink).
  const dirs = new Map<string, { mode: number; mtime: Date }>([["", { mode: -1, mtime: new Date(0) }]]);
  const files = new Set<string>();
  let total = 0;
  let count = 0;
  const ensureDir = async (rel: string, name: string): Promise<void> => {
    if (dirs.has(rel)) return;
    if (files.has(rel)) throw escape(name, `needs ${JSON.stringify(rel)} to be a directory, but it is not one (a symlink or a file)`);
    await ensureDir(posix.dirname(rel) === "." ? "" : posix.dirname(rel), name);
    await mkdir(join(dest, rel), 0o700);
    dirs.set(rel, { mode: 0o755, mtime: new Date() });
  };
  try {
    for await (const entry of extract) {
      signal?.throwIfAborted();
      const h = entry.header;
      try {
        const rel = entryRel(h.name);
        if (rel === "") continue;
        if (++count > maxEntries) throw archiveError(`it has more than ${maxEntries} entries`, "split the context or give a directory");
        const parent = posix.dirname(rel) === "." ? "" : posix.dirname(rel);
        await ensureDir(parent, h.name);
        const path = join(dest, rel);
        const mode = (h.mode ?? 0o644) & 0o7777;
        const mtime = h.mtime ?? new Date(0);
        if (h.type === "directory") {
          if (files.has(rel)) await rm(path, { force: true });
          files.delete(rel);
          if (!dirs.has(rel)) await mkdir(path, 0o700);
          dirs.set(rel, { mode, mtime });
          continue;
        }
        if (!["file", "contiguous-file", "symlink", "link", null, undefined].includes(h.type)) continue; // devices, FIFOs, PAX leftovers
        if (dirs.has(rel)) throw escape(h.name, "replaces a directory of the archive");
        if (files.has(rel)) await rm(path, { force: true });
        switch (h.type) {
          case "symlink": {
            const target = h.linkname ?? "";
            const lexical = posix.normalize(posix.join(parent, target));
            if (!target.startsWith("/") && (lexical === ".." || lexical.startsWith("../"))) throw escape(h.name, `is a symlink to ${JSON.stringify(target)}, outside of the context`);
            await symlink(target, path);
            files.add(rel);
            continue;
          }
          case "link": {
            const targetRel = entryRel(h.linkname ?? "");
            if (!files.has(targetRel) || (await lstat(join(dest, targetRel))).isSymbolicLink()) {
              throw escape(h.name, `is a hard link to ${JSON.stringify(h.linkname)}, which is not a file extracted before it`);
            }
            await link(join(dest, targetRel), path);
            files.add(rel);
            continue;
          }
          default: {
            total += h.size ?? 0;
            if (total > maxTotal) throw archiveError(`it holds more than ${maxTotal} bytes`, "give a smaller context, or a directory");
            await pipeline(entry, createWriteStream(path, { flags: "wx", mode: 0o600 }));
            files.add(rel);
            await chmod(path, mode);
            await lutimes(path, mtime, mtime);
          }
        }
      } finally {
        entry.resume();
      }
    }
    await feeding;
  } catch (err) {
    source.destroy();
    extract.destroy();
    await feeding.catch(() => {});
    if (err instanceof ContextError) throw err;
    if ((err as Error)?.name === "AbortError" || signal?.aborted) throw err;
    throw archiveError((err as Error).message ?? String(err), "the archive is corrupt, or the disk is full", err);
  }
  if (count === 0 && head.head.length === 0) throw archiveError("it is empty");
  // Modes and times of directories last (children first), so read-only directories could be filled.
  for (const [rel, d] of [...dirs].reverse()) {
    if (rel === "") continue;
    await chmod(join(dest, rel), d.mode);
    await lutimes(join(dest, rel), d.mtime, d.mtime);
  }
  return count;
}
