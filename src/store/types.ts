/**
 * The content store contract. Producers (registry pull, layer export, import/load) write blobs through `ingest`
 * or `writer`; consumers read them by digest. Blobs are immutable and only GC deletes them.
 */
import type { Readable, Writable } from "node:stream";
import type { Digest } from "../util/digest.js";
import type { RootLayout } from "./root.js";

/** What a stored blob is: its sha256 digest and byte size (a Descriptor without a media type). */
export interface BlobInfo {
  readonly digest: Digest;
  readonly size: number;
}

/** What the caller expects of incoming content; each given field is verified while streaming. */
export interface IngestExpected {
  readonly digest?: Digest | undefined;
  readonly size?: number | undefined;
}

/** Bytes to ingest: a Node stream or any async iterable of chunks (e.g. an undici body). */
export type ByteSource = AsyncIterable<Uint8Array> | Readable;

/** Options of long store calls. */
export interface StoreCallOptions {
  readonly signal?: AbortSignal | undefined;
}

export interface IngestOptions extends StoreCallOptions {
  /**
   * Called once when the source has delivered its last byte, before the final fsync and rename: a caller that
   * holds a transfer slot can hand it to the next download while this blob is made durable.
   */
  readonly onReceived?: (() => void) | undefined;
  /**
   * Flush to disk in the background every 16 MiB while bytes arrive (default), or only once before publishing. A
   * caller that overlaps each blob's final flush with other downloads (see `onReceived`) does better with the
   * latter when the disk is busy with other writers.
   */
  readonly progressiveFlush?: boolean | undefined;
}

/**
 * A blob being written by a producer that learns the digest only at the end. Write bytes to `stream`, end it,
 * then `commit()`. Until commit the bytes live in `ingest/` and are invisible to readers.
 */
export interface BlobWriter {
  /** Where to write the bytes. Ending it is optional: `commit()` ends it if needed. */
  readonly stream: Writable;
  /** Bytes written so far. */
  readonly written: number;
  /**
   * Verify (digest and/or size, if given), fsync, and move the blob into place. Returns the blob's identity.
   * If the same blob already exists (another writer won the race), the temp file is discarded.
   */
  commit(expected?: IngestExpected | Digest): Promise<BlobInfo>;
  /**
   * End the stream, fsync and hash it without publishing: lets a caller stage content (e.g. archive entries whose
   * expected digest is known only later) and then `commit` or `abort`. Idempotent.
   */
  finish(): Promise<BlobInfo>;
  /** Discard everything written. Safe to call after a failed commit; a no-op after a successful one. */
  abort(): Promise<void>;
}

/** Result of re-hashing one blob (fsck). */
export interface VerifyResult {
  readonly digest: Digest;
  readonly ok: boolean;
  readonly actual?: Digest;
  readonly size: number;
}

/** Content-addressed blob storage (sha256) under a tsbuild root. Safe to share between processes. */
export interface ContentStore {
  /** Absolute root directory and its layout. */
  readonly layout: RootLayout;
  /** Stream `source` into the store, verifying `expected` while streaming. Crash-safe: all of the blob or nothing. */
  ingest(expected: IngestExpected, source: ByteSource, opts?: IngestOptions): Promise<BlobInfo>;
  /** Store bytes already in memory (manifests, configs). */
  putBytes(data: Uint8Array | string, expected?: IngestExpected): Promise<BlobInfo>;
  /** A writer for producers that compute the digest while writing (layer export). */
  writer(): Promise<BlobWriter>;
  has(digest: Digest): Promise<boolean>;
  /** Size of a stored blob; throws `TSB_STORE_NOT_FOUND` if absent. */
  info(digest: Digest): Promise<BlobInfo>;
  /** Read a blob, optionally from byte `start` (resuming readers, range serving). Throws `TSB_STORE_NOT_FOUND`. */
  openRead(digest: Digest, opts?: { readonly start?: number }): Promise<Readable>;
  /** Whole blob in memory, digest re-verified (meant for small JSON blobs). */
  readBytes(digest: Digest): Promise<Buffer>;
  /** Parse a JSON blob (manifest, index, config); digest re-verified. */
  readJson<T = unknown>(digest: Digest): Promise<T>;
  /** The blob's file path for zero-copy readers (hard links, `copyFile`). Never write to it. */
  path(digest: Digest): string;
  /** Re-hash a blob and compare with its name. */
  verify(digest: Digest): Promise<VerifyResult>;
  /** Every stored blob (unordered). */
  list(): AsyncIterable<BlobInfo>;
}
