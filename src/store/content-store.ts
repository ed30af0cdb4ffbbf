/**
 * The filesystem content store: `blobs/sha256/<hex>`, written only through owner-tagged temp files in `ingest/`
 * that are hashed while streaming, fsynced, and renamed into place (then the directory is fsynced). A crash leaves
 * either the whole blob or a temp file that the next process reaps once its owner is gone.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { isDigest, sha256, type Digest } from "../util/digest.js";
import { StoreError, ioError } from "./errors.js";
import { fsyncDir, reapStaleTemps, statOrUndefined, tempName } from "./fs-util.js";
import { rootLayout, type RootLayout } from "./root.js";
import type {
  BlobInfo,
  BlobWriter,
  ByteSource,
  ContentStore,
  IngestExpected,
  IngestOptions,
  StoreCallOptions,
  VerifyResult,
} from "./types.js";

const prepared = new Map<string, Promise<void>>();

/**
 * Remove temp files of dead processes in the root (ingest, images, leases, tmp, cache/<kind>/). Safe at any time:
 * a live owner's files are kept. Runs when a root is first opened and again when a build ends, since a killed
 * process's helpers may still be exiting when the next build opens the root.
 */
export async function reapRootTemps(layout: RootLayout): Promise<void> {
  for (const dir of [layout.ingest, layout.images, layout.leases, layout.tmp]) await reapStaleTemps(dir);
  // Other rooms keep records under cache/<kind>/ written with writeFileAtomic: a killed writer's temp file.
  let entries: import("node:fs").Dirent[] = [];
  try {
    entries = await readdir(layout.cache, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) await reapStaleTemps(join(layout.cache, e.name));
}

/** Create the root's directories and reap stale temp files, once per process and root. */
export function prepareRoot(layout: RootLayout): Promise<void> {
  let p = prepared.get(layout.root);
  if (!p) {
    p = (async () => {
      try {
        for (const dir of [layout.blobs, layout.ingest, layout.images, layout.leases, layout.locks, layout.snapshots, layout.cache, layout.tmp]) {
          await mkdir(dir, { recursive: true });
        }
        await reapRootTemps(layout);
      } catch (err) {
        prepared.delete(layout.root);
        throw ioError(`cannot prepare tsbuild root ${layout.root}`, err);
      }
    })();
    prepared.set(layout.root, p);
  }
  return p;
}

/** Open (creating if needed) the content store of a tsbuild root. */
export async function openContentStore(root: string): Promise<ContentStore> {
  const layout = rootLayout(root);
  await prepareRoot(layout);
  return new FsContentStore(layout);
}

function notFound(digest: Digest): StoreError {
  return new StoreError("TSB_STORE_NOT_FOUND", `blob ${digest} is not in the content store`, {
    hint: "pull, load or import the image that contains it again",
  });
}

function normalizeExpected(e: IngestExpected | Digest | undefined): IngestExpected {
  return typeof e === "string" ? { digest: e } : (e ?? {});
}

class FsContentStore implements ContentStore {
  readonly layout: RootLayout;

  constructor(layout: RootLayout) {
    this.layout = layout;
  }

  path(digest: Digest): string {
    if (!isDigest(digest)) throw new StoreError("TSB_STORE_INVALID", `not a sha256 digest: ${JSON.stringify(digest)}`);
    return join(this.layout.blobs, digest.slice(7));
  }

  async has(digest: Digest): Promise<boolean> {
    return (await statOrUndefined(this.path(digest)))?.isFile() ?? false;
  }

  async info(digest: Digest): Promise<BlobInfo> {
    const st = await statOrUndefined(this.path(digest));
    if (!st?.isFile()) throw notFound(digest);
    return { digest, size: st.size };
  }

  async openRead(digest: Digest, opts: { readonly start?: number } = {}): Promise<Readable> {
    let fh: FileHandle;
    try {
      fh = await open(this.path(digest), "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw notFound(digest);
      throw ioError(`cannot open blob ${digest}`, err);
    }
    return fh.createReadStream({ start: opts.start ?? 0, autoClose: true });
  }

  async readBytes(digest: Digest): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await readFile(this.path(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw notFound(digest);
      throw ioError(`cannot read blob ${digest}`, err);
    }
    const actual = sha256(data);
    if (actual !== digest) {
      throw new StoreError("TSB_STORE_CORRUPT", `blob ${digest} is corrupt (its content hashes to ${actual})`, {
        hint: "run 'tsbuild prune' after removing the image, or re-pull it",
      });
    }
    return data;
  }

  async readJson<T = unknown>(digest: Digest): Promise<T> {
    const data = await this.readBytes(digest);
    try {
      return JSON.parse(data.toString("utf8")) as T;
    } catch (err) {
      throw new StoreError("TSB_STORE_INVALID", `blob ${digest} is not valid JSON`, { cause: err, hint: "the blob is not a manifest, index or config" });
    }
  }

  async verify(digest: Digest): Promise<VerifyResult> {
    const hash = createHash("sha256");
    let size = 0;
    const src = createReadStream(this.path(digest));
    for await (const chunk of src as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
    const actual = `sha256:${hash.digest("hex")}` as Digest;
    return actual === digest ? { digest, ok: true, size } : { digest, ok: false, actual, size };
  }

  async *list(): AsyncIterable<BlobInfo> {
    const names = await readdir(this.layout.blobs);
    for (const name of names) {
      const digest = `sha256:${name}`;
      if (!isDigest(digest)) continue;
      const st = await statOrUndefined(join(this.layout.blobs, name));
      if (st?.isFile()) yield { digest, size: st.size };
    }
  }

  async writer(opts: { readonly limit?: number | undefined; readonly progressiveFlush?: boolean | undefined } = {}): Promise<BlobWriter> {
    const tmp = join(this.layout.ingest, tempName());
    let fh: FileHandle;
    try {
      fh = await open(tmp, "wx", 0o644);
    } catch (err) {
      throw ioError(`cannot create ingest file in ${this.layout.ingest}`, err);
    }
    return new FileBlobWriter(this, fh, tmp, opts.limit, opts.progressiveFlush ?? true);
  }

  async ingest(expected: IngestExpected, source: ByteSource, opts: IngestOptions = {}): Promise<BlobInfo> {
    if (expected.digest !== undefined && (await this.has(expected.digest))) {
      (source as Partial<Readable>).destroy?.();
      return this.#existing(expected);
    }
    const w = (await this.writer({ limit: expected.size, progressiveFlush: opts.progressiveFlush })) as FileBlobWriter;
    try {
      const input = opts.onReceived ? tapEnd(source, opts.onReceived) : source;
      await pipeline(input, w.stream, opts.signal ? { signal: opts.signal } : {});
      return await w.commit(expected);
    } catch (err) {
      await w.abort();
      if (err instanceof StoreError) throw err;
      if ((err as Error).name === "AbortError") throw err;
      throw ioError(`cannot ingest ${expected.digest ?? "blob"}`, err);
    }
  }

  async putBytes(data: Uint8Array | string, expected: IngestExpected = {}): Promise<BlobInfo> {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    const digest = sha256(bytes);
    if (await this.has(digest)) return this.#existing({ ...expected, digest: expected.digest ?? digest }, digest);
    return this.ingest(expected, Readable.from([bytes]));
  }

  /** The blob already exists: check the caller's expectations and refresh its mtime (GC grace period). */
  async #existing(expected: IngestExpected, actualDigest?: Digest): Promise<BlobInfo> {
    const digest = actualDigest ?? expected.digest!;
    if (expected.digest !== undefined && expected.digest !== digest) {
      throw digestMismatch(expected.digest, digest);
    }
    const info = await this.info(digest);
    if (expected.size !== undefined && expected.size !== info.size) throw sizeMismatch(digest, expected.size, info.size);
    await touch(this.path(digest));
    return info;
  }
}

/** `source`, calling `onEnd` once after its last chunk (not on failure). */
async function* tapEnd(source: ByteSource, onEnd: () => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source as AsyncIterable<Uint8Array>) yield chunk;
  onEnd();
}

async function touch(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(() => undefined);
}

function digestMismatch(expected: Digest, actual: Digest): StoreError {
  return new StoreError("TSB_STORE_DIGEST_MISMATCH", `content digest mismatch: expected ${expected}, got ${actual}`, {
    hint: "the source sent different bytes than its descriptor says; retry, or check the registry or archive",
  });
}

function sizeMismatch(what: string, expected: number, actual: number): StoreError {
  return new StoreError("TSB_STORE_SIZE_MISMATCH", `size mismatch for ${what}: expected ${expected} bytes, got ${actual}${actual > expected ? " or more" : ""}`, {
    hint: "the source sent different bytes than its descriptor says; retry, or check the registry or archive",
  });
}

/** Bytes written between background flushes of a blob being ingested. */
const WRITEBACK_BYTES = 16 << 20;

class FileBlobWriter implements BlobWriter {
  readonly stream: Writable;
  readonly #store: FsContentStore;
  readonly #tmp: string;
  readonly #hash: Hash = createHash("sha256");
  #fh: FileHandle | undefined;
  #written = 0;
  #state: "open" | "committed" | "aborted" = "open";
  #info: BlobInfo | undefined;

  constructor(store: FsContentStore, fh: FileHandle, tmp: string, limit: number | undefined, progressive: boolean) {
    this.#store = store;
    this.#fh = fh;
    this.#tmp = tmp;
    // Chunks that arrive while a write is in flight are buffered by the stream and written with one writev: the
    // producer's pieces (16–64 KiB socket reads) are neither copied into bigger buffers nor written one by one.
    const accept = (chunk: Buffer): Error | undefined => {
      if (limit !== undefined && this.#written + chunk.length > limit) return sizeMismatch("blob being ingested", limit, this.#written + chunk.length);
      this.#hash.update(chunk);
      this.#written += chunk.length;
      return undefined;
    };
    // Large blobs are flushed to disk progressively (a background fdatasync every WRITEBACK_BYTES, never more than
    // one at a time) so the disk writes while the network reads, and the fsync before publishing has little left.
    let unsynced = 0;
    let flushing: Promise<void> | undefined;
    const wrote = (n: number): void => {
      unsynced += n;
      if (!progressive || unsynced < WRITEBACK_BYTES || flushing) return;
      unsynced = 0;
      flushing = fh.datasync().then(
        () => void (flushing = undefined),
        () => void (flushing = undefined),
      );
    };
    this.stream = new Writable({
      highWaterMark: 1 << 20,
      write: (chunk: Buffer, _enc, cb) => {
        const err = accept(chunk);
        if (err) cb(err);
        else fh.write(chunk).then(() => (wrote(chunk.length), cb()), cb);
      },
      writev: (chunks, cb) => {
        const bufs: Buffer[] = [];
        let n = 0;
        for (const { chunk } of chunks) {
          const err = accept(chunk as Buffer);
          if (err) return cb(err);
          bufs.push(chunk as Buffer);
          n += (chunk as Buffer).length;
        }
        writeAll(fh, bufs).then(() => (wrote(n), cb()), cb);
      },
      final: (cb) => {
        Promise.resolve(flushing)
          .then(() => fh.sync())
          .then(() => cb(), cb);
      },
    });
  }

  get written(): number {
    return this.#written;
  }

  async finish(): Promise<BlobInfo> {
    if (this.#info) return this.#info;
    if (this.#state !== "open") throw new StoreError("TSB_STORE_INVALID", `blob writer already ${this.#state}`);
    try {
      if (!this.stream.writableFinished) {
        if (!this.stream.writableEnded) this.stream.end();
        await finished(this.stream);
      }
      await this.#fh!.close();
      this.#fh = undefined;
    } catch (err) {
      await this.abort();
      throw ioError("cannot write blob", err);
    }
    this.#info = { digest: `sha256:${this.#hash.digest("hex")}` as Digest, size: this.#written };
    return this.#info;
  }

  async commit(expectedArg?: IngestExpected | Digest): Promise<BlobInfo> {
    const expected = normalizeExpected(expectedArg);
    const { digest, size } = await this.finish();
    try {
      if (expected.size !== undefined && expected.size !== size) throw sizeMismatch(expected.digest ?? digest, expected.size, size);
      if (expected.digest !== undefined && expected.digest !== digest) throw digestMismatch(expected.digest, digest);
      const target = this.#store.path(digest);
      if ((await statOrUndefined(target))?.isFile()) {
        // Another writer won the race with identical bytes: keep theirs.
        await rm(this.#tmp, { force: true });
        await touch(target);
      } else {
        await rename(this.#tmp, target);
        await syncDir(this.#store.layout.blobs);
      }
      this.#state = "committed";
      return { digest, size };
    } catch (err) {
      await this.abort();
      throw ioError("cannot commit blob", err);
    }
  }

  async abort(): Promise<void> {
    if (this.#state === "committed") return;
    this.#state = "aborted";
    if (!this.stream.destroyed) this.stream.destroy();
    await this.#fh?.close().catch(() => undefined);
    this.#fh = undefined;
    await rm(this.#tmp, { force: true });
  }
}

/** Write all of `bufs` (writev may write less than asked, e.g. on a full disk it fails, on signals it is short). */
async function writeAll(fh: FileHandle, bufs: Buffer[]): Promise<void> {
  let total = 0;
  for (const b of bufs) total += b.length;
  let { bytesWritten } = await fh.writev(bufs);
  while (bytesWritten < total) {
    // Rare: drop what was written and go on with the rest.
    let skip = bytesWritten;
    while (skip >= bufs[0]!.length) skip -= bufs.shift()!.length;
    if (skip > 0) bufs[0] = bufs[0]!.subarray(skip);
    total -= bytesWritten;
    ({ bytesWritten } = await fh.writev(bufs));
  }
}

/** Directory fsyncs in flight and queued, per directory (group commit). */
const dirSyncs = new Map<string, { running: Promise<void> | undefined; next: Promise<void> | undefined }>();

/**
 * fsync `dir` so that renames done before this call survive a crash. Concurrent callers share fsyncs: a call made
 * while one runs waits for the next one, which starts when the running one ends and serves every caller that
 * queued meanwhile (parallel pulls commit several blobs per directory fsync instead of one each).
 */
export function syncDir(dir: string): Promise<void> {
  let s = dirSyncs.get(dir);
  if (!s) {
    s = { running: undefined, next: undefined };
    dirSyncs.set(dir, s);
  }
  const state = s;
  if (!state.running) {
    const p = fsyncDir(dir).finally(() => {
      if (state.running === p) state.running = undefined;
    });
    state.running = p;
    return p;
  }
  // The running fsync may have started before the caller's rename: wait for a fresh one.
  state.next ??= state.running.catch(() => undefined).then(() => {
    state.next = undefined;
    return syncDir(dir);
  });
  return state.next;
}

/** Delete a blob. Only GC calls this (it is not part of the ContentStore contract). */
export async function removeBlob(layout: RootLayout, digest: Digest): Promise<void> {
  await rm(join(layout.blobs, digest.slice(7)), { force: true });
}

/** Byte size of files under a directory (recursive, no symlink following); for `du`. */
export async function dirSize(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await dirSize(p);
    else if (e.isFile()) total += (await stat(p).catch(() => undefined))?.size ?? 0;
  }
  return total;
}
