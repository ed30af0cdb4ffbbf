/**
 * The registry room's contract: options and results of pull/push/resolve, and the small interfaces it needs from
 * its callers (an image recorder for the local images db, a progress sink).
 */
import type { Descriptor, Platform } from "../image/index.js";
import type { ImageReference } from "../image/index.js";
import type { Digest } from "../util/digest.js";

/** Records a pulled image under a name in the local images db (implemented by the image room). */
export interface ImageRecorder {
  /** Point `name` (a full reference string, e.g. `docker.io/library/busybox:latest`) at `descriptor`. */
  record(name: string, descriptor: Descriptor): Promise<void>;
}

/** Transfer progress, one event per blob state change. Never carries credentials. */
export type RegistryProgress =
  | { readonly kind: "resolved"; readonly ref: string; readonly digest: Digest }
  | { readonly kind: "blob-start"; readonly digest: Digest; readonly size: number; readonly action: "download" | "upload" }
  | { readonly kind: "blob-done"; readonly digest: Digest; readonly size: number; readonly how: "downloaded" | "cached" | "uploaded" | "exists" | "mounted" }
  | { readonly kind: "manifest-pushed"; readonly ref: string; readonly digest: Digest };

/** Options shared by pull and push. */
export interface TransferOptions {
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((event: RegistryProgress) => void) | undefined;
}

/** Options of `pullImage`. */
export interface PullOptions extends TransferOptions {
  /** Platform to pick from an index. @default the host platform (linux/amd64 on x86-64) */
  readonly platform?: Platform | undefined;
  /** Where to record the image; not recorded when absent. */
  readonly images?: ImageRecorder | undefined;
}

/** What a pull produced. */
export interface PullResult {
  readonly ref: ImageReference;
  /** The platform's image manifest (with `platform` set when chosen from an index). */
  readonly manifest: Descriptor;
  /** What the reference named (an index or the manifest itself). */
  readonly target: Descriptor;
  /** Bytes actually downloaded (blobs already in the store are not fetched). */
  readonly bytesDownloaded: number;
}

/** Options of `pushImage`. */
export interface PushOptions extends TransferOptions {
  /** More tags to PUT the same manifest under (same repository). */
  readonly extraTags?: readonly string[] | undefined;
  /** Blobs up to this size go in one PUT; larger ones in PATCH chunks. @default 33554432 (32 MiB) */
  readonly monolithicMax?: number | undefined;
  /** PATCH chunk size (raised to the registry's `OCI-Chunk-Min-Length`). @default 67108864 (64 MiB) */
  readonly chunkSize?: number | undefined;
}

/** What a push produced. */
export interface PushResult {
  readonly ref: ImageReference;
  /** Digest of the pushed manifest or index. */
  readonly digest: Digest;
  readonly bytesUploaded: number;
  readonly blobsMounted: number;
  readonly blobsSkipped: number;
}
