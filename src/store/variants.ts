/**
 * Blob variants: remembered derivations of one stored blob into another by a named, deterministic transform (an
 * uncompressed layer and its gzip or zstd blob). `<root>/variants/<source-hex>.<name>` holds the derived digest;
 * files are replaced with write-temp + rename, so any number of processes may read and record at once. The store
 * does not know what a transform does: the caller names it and hands the stream.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { Transform, type Duplex, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { digestHex, isDigest, type Digest } from "../util/digest.js";
import { StoreError, ioError } from "./errors.js";
import { reapStaleTemps, writeFileAtomic } from "./fs-util.js";
import type { RootLayout } from "./root.js";
import type { BlobInfo, ContentStore, StoreCallOptions } from "./types.js";

const NAME_RE = /^[a-z0-9][a-z0-9+-]*$/;
const FILE_RE = /^([0-9a-f]{64})\.([a-z0-9][a-z0-9+-]*)$/;

/** `<root>/variants`: where variant entries live. */
export function variantsDir(layout: RootLayout): string {
  return join(layout.root, "variants");
}

function entryPath(store: ContentStore, source: Digest, name: string): string {
  if (!NAME_RE.test(name)) throw new TypeError(`variant name ${JSON.stringify(name)} must match ${NAME_RE}`);
  return join(variantsDir(store.layout), `${digestHex(source)}.${name}`);
}

/**
 * The stored blob derived from `source` by transform `name`, if one was recorded and its blob is still in the
 * store (an entry whose blob is gone counts as absent).
 */
export async function lookupVariant(store: ContentStore, source: Digest, name: string): Promise<BlobInfo | undefined> {
  let text: string;
  try {
    text = (await readFile(entryPath(store, source, name), "utf8")).trim();
  } catch {
    return undefined;
  }
  if (!isDigest(text)) return undefined;
  try {
    return await store.info(text);
  } catch {
    return undefined;
  }
}

/** Remember that transform `name` of `source` is `target` (both stored). Last writer wins; readers never see a mix. */
export async function recordVariant(store: ContentStore, source: Digest, name: string, target: Digest): Promise<void> {
  const path = entryPath(store, source, name);
  try {
    await mkdir(variantsDir(store.layout), { recursive: true });
    // Not fsynced: a lost entry only costs one more transform.
    await writeFileAtomic(path, `${target}\n`, 0o644, { durable: false });
  } catch (err) {
    throw ioError(`cannot record variant ${name} of ${source}`, err);
  }
}

/** Hashes what flows through (the source blob, re-verified while it is transformed). */
class HashTap extends Transform {
  readonly hash = createHash("sha256");
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

/** What {@link deriveVariant} returns. */
export interface DerivedVariant extends BlobInfo {
  /** True when the transform ran now; false when a recorded variant was reused. */
  readonly created: boolean;
}

/**
 * The blob derived from stored blob `source` by transform `name`: the recorded one, or `transform()` run over the
 * source now (the source re-verified while streaming), ingested like any blob (temp + fsync + rename) and recorded.
 * `transform` must be deterministic: concurrent derivations of the same source then store the same blob.
 */
export async function deriveVariant(
  store: ContentStore, source: Digest, name: string, transform: () => Duplex, opts: StoreCallOptions = {},
): Promise<DerivedVariant> {
  const known = await lookupVariant(store, source, name);
  if (known) return { ...known, created: false };
  const input = await store.openRead(source);
  const tap = new HashTap();
  const writer = await store.writer();
  let info: BlobInfo;
  try {
    await pipeline(input, tap, transform(), writer.stream, opts.signal ? { signal: opts.signal } : {});
    const actual = `sha256:${tap.hash.digest("hex")}`;
    if (actual !== source) {
      throw new StoreError("TSB_STORE_CORRUPT", `stored blob ${source} does not match its digest (read ${actual})`, {
        hint: "run 'tsbuild doctor' to find damaged blobs, then pull or rebuild the image",
      });
    }
    info = await writer.commit();
  } catch (err) {
    input.destroy();
    await writer.abort();
    throw err;
  }
  await recordVariant(store, source, name, info.digest);
  return { ...info, created: true };
}

/**
 * Remove entries whose derived blob is gone (run after GC deleted blobs), and temp files of dead writers. Entries whose source is absent stay: a
 * layer's diff ID names its uncompressed content even when only the compressed blob was ever stored.
 */
export async function pruneVariants(store: ContentStore): Promise<number> {
  const dir = variantsDir(store.layout);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  // Temp files of writers that died before their rename.
  let removed = (await reapStaleTemps(dir)).length;
  for (const file of names) {
    const m = FILE_RE.exec(file);
    if (!m) continue; // a live writer's temp file is its own to rename
    const source = `sha256:${m[1]!}` as Digest;
    const target = await lookupVariant(store, source, m[2]!);
    if (target) continue;
    await rm(join(dir, file), { force: true });
    removed++;
  }
  return removed;
}
