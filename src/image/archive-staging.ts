/**
 * Reading an untrusted image archive (tar, optionally gzip) into staging without trusting anything: entry names
 * are normalized and must stay inside the archive, only regular files, directories and in-archive link aliases are
 * accepted, sizes are bounded, and every file is hashed (and, if gzip, its uncompressed diff_id too). Large
 * entries are staged as uncommitted store writers in `ingest/`, small ones in memory; nothing is published here.
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import { posix } from "node:path";
import { createGunzip, gunzipSync } from "node:zlib";
import tar from "tar-stream";
import type { BlobWriter, ByteSource, ContentStore } from "../store/index.js";
import { sha256, type Digest } from "../util/digest.js";
import { peek } from "../util/archive-stream.js";
import { ImageError } from "./errors.js";

/** Limits for untrusted archives. */
export interface ArchiveLimits {
  /** Largest accepted entry. @default 68719476736 (64 GiB) */
  readonly maxEntryBytes?: number;
  /** Largest metadata file (manifest.json, index.json, configs) kept in memory. @default 16777216 */
  readonly maxMetadataBytes?: number;
  /** @default 100000 */
  readonly maxEntries?: number;
}

/** A staged archive entry. */
export interface StagedEntry {
  readonly digest: Digest;
  readonly size: number;
  /** sha256 of the decompressed bytes when the entry is gzip data. */
  readonly diffId?: Digest;
  readonly gzip: boolean;
  /** In-memory content (small entries). */
  readonly data?: Buffer;
  /** Uncommitted writer (large entries). */
  readonly writer?: BlobWriter;
}

/** All staged entries of one archive, by normalized path. */
export interface StagedArchive {
  readonly files: ReadonlyMap<string, StagedEntry>;
  /** Resolve a path through link aliases to a staged file. */
  get(path: string): StagedEntry | undefined;
  /** Abort every uncommitted writer. */
  discard(): Promise<void>;
}

const MEM_LIMIT = 1 << 20;

export function unsafe(problem: string): ImageError {
  return new ImageError("TSB_IMAGE_ARCHIVE_UNSAFE", `refusing archive: ${problem}`, {
    hint: "the archive is malformed or hostile; nothing was loaded. Re-create it with 'tsbuild save' or 'docker save'",
  });
}

/** Normalize an archive path; throws for absolute paths or paths escaping the archive. */
export function cleanPath(raw: string): string {
  if (raw.includes("\0")) throw unsafe(`entry name ${JSON.stringify(raw)} contains a NUL byte`);
  if (raw.startsWith("/")) throw unsafe(`entry ${JSON.stringify(raw)} has an absolute path`);
  const n = posix.normalize(raw).replace(/\/+$/, "");
  if (n === ".." || n.startsWith("../") || n.split("/").includes("..")) throw unsafe(`entry ${JSON.stringify(raw)} escapes the archive (path traversal)`);
  return n === "." ? "" : n;
}

async function stageLarge(store: ContentStore, stream: AsyncIterable<Buffer>, limit: number, name: string): Promise<StagedEntry> {
  const w = await store.writer();
  let gunzip: ReturnType<typeof createGunzip> | undefined;
  let gunzipFailed = false;
  const diffHash = createHash("sha256");
  let first = true;
  let total = 0;
  try {
    for await (const chunk of stream) {
      total += chunk.length;
      if (total > limit) throw unsafe(`entry ${name} is larger than its limit of ${limit} bytes`);
      if (first) {
        first = false;
        if (chunk[0] === 0x1f && chunk[1] === 0x8b) {
          gunzip = createGunzip();
          gunzip.on("data", (d: Buffer) => diffHash.update(d));
          gunzip.on("error", () => {
            gunzipFailed = true;
          });
        }
      }
      if (gunzip && !gunzipFailed) gunzip.write(chunk);
      if (!w.stream.write(chunk)) await once(w.stream, "drain");
    }
    let diffId: Digest | undefined;
    if (gunzip) {
      if (!gunzipFailed) {
        gunzip.end();
        await once(gunzip, "end").catch(() => (gunzipFailed = true));
      }
      if (!gunzipFailed) diffId = `sha256:${diffHash.digest("hex")}` as Digest;
    }
    const info = await w.finish();
    return { digest: info.digest, size: info.size, gzip: gunzip !== undefined, writer: w, ...(diffId ? { diffId } : {}) };
  } catch (err) {
    await w.abort();
    throw err;
  }
}

function stageSmall(data: Buffer): StagedEntry {
  const gzip = data[0] === 0x1f && data[1] === 0x8b;
  let diffId: Digest | undefined;
  if (gzip) {
    try {
      diffId = sha256(gunzipSync(data, { maxOutputLength: 1 << 30 }));
    } catch {
      diffId = undefined;
    }
  }
  return { digest: sha256(data), size: data.length, gzip, data, ...(diffId ? { diffId } : {}) };
}

/** Read an archive into staging. On error everything staged so far is discarded. */
export async function stageArchive(store: ContentStore, source: ByteSource, limits: ArchiveLimits = {}): Promise<StagedArchive> {
  const maxEntry = limits.maxEntryBytes ?? 64 * 2 ** 30;
  const maxMeta = limits.maxMetadataBytes ?? 16 * 2 ** 20;
  const maxEntries = limits.maxEntries ?? 100_000;
  const files = new Map<string, StagedEntry>();
  const links = new Map<string, string>();
  const discard = async (): Promise<void> => {
    for (const f of files.values()) await f.writer?.abort();
  };
  const { head, stream } = await peek(source, 2);
  const input = head[0] === 0x1f && head[1] === 0x8b ? stream.pipe(createGunzip()) : stream;
  const extract = tar.extract();
  input.on("error", (e) => extract.destroy(e));
  input.pipe(extract);
  let count = 0;
  try {
    for await (const entry of extract) {
      const h = entry.header;
      if (++count > maxEntries) throw unsafe(`more than ${maxEntries} entries`);
      const name = cleanPath(h.name);
      const type = h.type ?? "file";
      if (type === "directory") {
        entry.resume();
        continue;
      }
      if (files.has(name) || links.has(name)) throw unsafe(`duplicate entry ${name}`);
      if (type === "symlink" || type === "link") {
        const target = h.linkname ?? "";
        if (target.startsWith("/")) throw unsafe(`link ${name} points to an absolute path ${JSON.stringify(target)}`);
        links.set(name, cleanPath(type === "symlink" ? posix.join(posix.dirname(name), target) : target));
        entry.resume();
        continue;
      }
      if (type !== "file" && type !== "contiguous-file") throw unsafe(`entry ${name} is a ${type}, not a regular file`);
      const size = h.size ?? 0;
      if (size > maxEntry) throw unsafe(`entry ${name} declares ${size} bytes, more than the limit of ${maxEntry}`);
      if (size <= MEM_LIMIT) {
        const parts: Buffer[] = [];
        for await (const c of entry as AsyncIterable<Buffer>) parts.push(c);
        files.set(name, stageSmall(Buffer.concat(parts)));
      } else {
        const isMeta = !name.startsWith("blobs/") && !name.endsWith("layer.tar");
        if (isMeta && size > maxMeta) throw unsafe(`metadata file ${name} is ${size} bytes, more than ${maxMeta}`);
        files.set(name, await stageLarge(store, entry as AsyncIterable<Buffer>, Math.min(size, maxEntry), name));
      }
    }
  } catch (err) {
    await discard();
    input.destroy();
    if (err instanceof ImageError) throw err;
    throw new ImageError("TSB_IMAGE_ARCHIVE_INVALID", `cannot read archive: ${(err as Error).message}`, {
      cause: err,
      hint: "the file is not a (possibly gzip-compressed) tar archive, or it is truncated",
    });
  }
  const get = (path: string): StagedEntry | undefined => {
    let p = cleanPath(path);
    for (let hops = 0; hops < 16; hops++) {
      const f = files.get(p);
      if (f) return f;
      const next = links.get(p);
      if (next === undefined) return undefined;
      p = next;
    }
    throw unsafe(`link loop at ${path}`);
  };
  return { files, get, discard };
}
