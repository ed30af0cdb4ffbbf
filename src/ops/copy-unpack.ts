/**
 * ADD's archive extraction (BuildKit unpack → moby go-archive Untar): a regular source file whose content, after
 * gzip/bzip2/xz/zstd decompression (detected by magic bytes, never by name), starts with a valid tar header is
 * extracted into the destination directory instead of copied. Extraction is confined to the destination as if
 * chrooted there: names climbing above it (tar-slip), hard links leaving it and relative symlinks pointing above it
 * are rejected; parents are resolved with symlinks rooted at the destination.
 */
import { execFile } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { chmod, lchown, link, lutimes, mkdir, open, rm, symlink } from "node:fs/promises";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import tar from "tar-stream";
import { FileOpError, fsFailure } from "./file-errors.js";
import type { Owner } from "./file-owner.js";
import { cleanAbs, components, lstatOrNull, resolveInRoot } from "./file-root-path.js";
import { imagePath, mkdirAll, type CopyTarget } from "./copy-apply.js";
import { isPortableXattr, writeXattrs } from "../snapshot/index.js";
import { decompress, detectCompression, isTarHeader, type Compression } from "../util/archive-stream.js";
import { sparseMember, writeSparse } from "./tar-sparse.js";
import { endAtArchiveMarker } from "./tar-end.js";

const run = promisify(execFile);

/** tar-stream's extract options, with the one its typings leave out. */
type ExtractOptions = NonNullable<Parameters<typeof tar.extract>[0]> & { readonly allowUnknownFormat?: boolean };

/** The decompressed bytes of `file`. */
function decompressFile(file: string, kind: Compression): Promise<Readable> {
  return decompress(createReadStream(file), kind, {
    cannotRun: (tool, hint, err) => new FileOpError("TSB_OPS_FILE_ARCHIVE", `cannot run ${tool} to read ${file}: ${err.message}`, { hint }),
    failed: (tool, code) => new FileOpError("TSB_OPS_FILE_ARCHIVE", `${tool} failed to decompress the archive (exit ${code})`, { hint: "the archive is corrupt" }),
  });
}

/** The compression of `file` when it is a tar archive (possibly compressed); undefined otherwise. */
export async function detectArchive(file: string): Promise<Compression | undefined> {
  const fh = await open(file, "r");
  let head: Buffer;
  try {
    head = Buffer.alloc(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const kind = detectCompression(head);
  const stream = await decompressFile(file, kind);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= 512) break;
    }
  } catch {
    return undefined;
  } finally {
    stream.destroy();
  }
  return isTarHeader(Buffer.concat(chunks).subarray(0, 512)) ? kind : undefined;
}

function escape(name: string, why: string): FileOpError {
  return new FileOpError("TSB_OPS_FILE_ARCHIVE_ESCAPE", `archive entry ${JSON.stringify(name)} ${why}`, {
    hint: "the archive tries to write outside the destination (tar-slip); do not ADD it, or repack it",
  });
}

/** Clean an entry name relative to the destination; throws when it climbs above it. */
function entryRel(name: string): string {
  const out: string[] = [];
  for (const c of components(name)) {
    if (c !== "..") out.push(c);
    else if (out.pop() === undefined) throw escape(name, "is outside of the destination");
  }
  return out.join("/");
}

/**
 * Extract the archive `file` into `destPath` (an image path, created 0755 with the copy's owner): owners, modes and
 * mtimes come from the headers (PAX records first); Docker 20.10 applies ADD --chown to the directories it creates
 * for the destination, never to the archive's members.
 */
export async function unpackArchive(t: CopyTarget, file: string, kind: Compression, destPath: string): Promise<void> {
  const dest = (await resolveInRoot(t.root, cleanAbs(destPath))).path;
  await mkdirAll(t.root, dest, 0o755, t.owner);
  // Go's archive/tar reads V7 tars (no ustar magic, valid checksum) too; tar-stream needs telling.
  const options: ExtractOptions = { allowUnknownFormat: true };
  const extract = endAtArchiveMarker(tar.extract(options));
  const source = await decompressFile(file, kind);
  const feeding = pipeline(source, extract).catch((err: unknown) => {
    throw new FileOpError("TSB_OPS_FILE_ARCHIVE", `cannot read archive ${posix.basename(file)}: ${(err as Error).message}`, { cause: err, hint: "the archive is corrupt or truncated" });
  });
  const dirs: { path: string; mtime: Date }[] = [];
  try {
    for await (const entry of extract) {
      t.signal?.throwIfAborted();
      const h = entry.header;
      try {
        // tar-stream reads PAX path and linkpath only; mtime (sub-second), uid and gid records win over the header.
        const pax = (h.pax ?? {}) as Readonly<Record<string, string | undefined>>;
        const regular = h.type === "file" || h.type === "contiguous-file" || h.type === null || h.type === undefined;
        const sparse = regular ? sparseMember(pax) : undefined;
        const rel = entryRel(sparse?.name ?? h.name);
        if (rel === "") continue;
        const dir = await resolveInRoot(dest, posix.dirname(rel));
        await mkdirAll(dest, dir.path, 0o755);
        const path = join(dir.path, posix.basename(rel));
        const shown = imagePath(t.root, path);
        let existing = await lstatOrNull(path);
        // Anything but a directory where the archive has one (a symlink included) is replaced, as moby's untar does.
        if (existing !== null && !(existing.isDirectory() && h.type === "directory")) {
          await rm(path, { recursive: true, force: true });
          existing = null;
        }
        const mode = (h.mode ?? 0o644) & 0o7777;
        const mtime = pax.mtime !== undefined && Number.isFinite(Number(pax.mtime)) ? new Date(Number(pax.mtime) * 1000) : (h.mtime ?? new Date(0));
        const uid = pax.uid !== undefined && /^[0-9]+$/.test(pax.uid) ? Number(pax.uid) : (h.uid ?? 0);
        const gid = pax.gid !== undefined && /^[0-9]+$/.test(pax.gid) ? Number(pax.gid) : (h.gid ?? 0);
        switch (h.type) {
          case "directory":
            if (existing === null) await mkdir(path, mode & 0o777);
            dirs.push({ path, mtime });
            break;
          case "file":
          case "contiguous-file":
          case null:
          case undefined:
            if (sparse) await writeSparse(entry as AsyncIterable<Buffer>, path, mode & 0o777, sparse);
            else await pipeline(entry, createWriteStream(path, { flags: "wx", mode: mode & 0o777 }));
            break;
          case "symlink": {
            const target = h.linkname ?? "";
            const lexical = posix.normalize(posix.join(posix.dirname(rel), target));
            if (!target.startsWith("/") && (lexical === ".." || lexical.startsWith("../"))) throw escape(h.name, `is a symlink to ${JSON.stringify(target)}, outside of the destination`);
            await symlink(target, path);
            break;
          }
          case "link": {
            const linkRel = entryRel(h.linkname ?? "");
            const target = await resolveInRoot(dest, linkRel, false);
            await link(target.path, path);
            break;
          }
          case "fifo":
            await run("mkfifo", ["-m", "600", path]);
            break;
          case "character-device":
          case "block-device":
            // Device nodes cannot be made in a user namespace; moby skips them there, and so do we when mknod fails.
            if (!(await run("mknod", ["-m", "600", path, h.type === "character-device" ? "c" : "b", String(h.devmajor ?? 0), String(h.devminor ?? 0)]).then(() => true, () => false))) continue;
            break;
          default:
            continue;
        }
        await applyHeader(path, h.type === "symlink", { uid, gid }, mode, h.type === "directory" ? undefined : mtime, shown);
        await applyXattrs(path, pax);
      } finally {
        entry.resume();
      }
    }
    await feeding;
  } catch (err) {
    source.destroy();
    extract.destroy();
    await feeding.catch(() => {});
    throw err instanceof FileOpError ? err : fsFailure("extract archive into", destPath, err);
  }
  for (const d of dirs.reverse()) await lutimes(d.path, d.mtime, d.mtime);
}

/**
 * The member's `SCHILY.xattr.*` PAX records, set after owner and mode (a chown would clear security.capability).
 * Best effort, as moby's untar: a file system or user namespace that refuses an attribute does not fail the ADD.
 * tar-stream hands PAX values over as UTF-8 text, so a value that is not valid UTF-8 cannot be restored exactly.
 */
async function applyXattrs(path: string, pax: Readonly<Record<string, string | undefined>>): Promise<void> {
  for (const [key, value] of Object.entries(pax)) {
    if (!key.startsWith("SCHILY.xattr.") || value === undefined || !isPortableXattr(key.slice(13))) continue;
    await writeXattrs([[path, key.slice(13), Buffer.from(value, "utf8")]]).catch(() => {});
  }
}

async function applyHeader(path: string, isLink: boolean, owner: Owner, mode: number, mtime: Date | undefined, shown: string): Promise<void> {
  try {
    await lchown(path, owner.uid, owner.gid);
  } catch (err) {
    throw fsFailure(`chown to ${owner.uid}:${owner.gid}`, shown, err);
  }
  if (!isLink) await chmod(path, mode);
  if (mtime !== undefined) await lutimes(path, mtime, mtime);
}
