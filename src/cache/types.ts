/**
 * The cache room's contract: immutable build results (refs) as layer chains over committed snapshots, and the
 * records that map cache keys to them. Ops produce refs, the solver caches them, the exporter turns them into
 * image layers.
 */
import type { Digest } from "../util/digest.js";

/** A compressed (or plain) layer blob in the content store. */
export interface LayerBlob {
  readonly digest: Digest;
  readonly size: number;
  readonly mediaType: string;
}

/** One layer of a ref: the committed snapshot holding the filesystem up to and including this layer. */
export interface RefLayer {
  /** Committed snapshot key. For base-image layers it is derived from the ChainID and may not exist yet. */
  readonly snapshot: string;
  /** The layer's diff_id when known (base-image layers; built layers once exported). */
  readonly diffId?: Digest;
  /** A blob of this layer already in the store (base-image layers, or built layers exported before). */
  readonly blob?: LayerBlob;
  /**
   * When the step that made this layer ran (ISO 8601), for built layers. Kept with the cached result, so a cached
   * rebuild exports the same history times (and the same image ID), as BuildKit's layer `createdAt`.
   */
  readonly created?: string;
  /**
   * True when the layer is known to have no changes (a built layer imported from a remote cache, whose snapshot
   * has not been diffed here): the exporter drops such layers as it drops empty local ones.
   */
  readonly empty?: boolean;
}

/**
 * An immutable build result: a filesystem as a chain of layers, bottom first. `layers: []` is the empty filesystem
 * (scratch). Plain data: safe to persist in cache records.
 */
export interface BuildRef {
  readonly layers: readonly RefLayer[];
}

export const EMPTY_REF: BuildRef = Object.freeze({ layers: Object.freeze([]) as readonly RefLayer[] });

/** A writable snapshot on top of a ref, mounted for an op to change; commit() or discard() exactly once. */
export interface ActiveRef {
  /** The mounted, writable root directory. */
  readonly path: string;
  /** Freeze the changes as one new layer on top of the parent ref. */
  commit(): Promise<BuildRef>;
  /** Throw the changes away. Safe after a failed commit. */
  discard(): Promise<void>;
}

/** A read-only mounted view of a ref; release() exactly once. */
export interface RefView {
  /** The mounted root directory; an empty directory for scratch. */
  readonly path: string;
  release(): Promise<void>;
}

/** The exported form of one layer, as the image needs it. */
export interface ExportedLayer {
  readonly diffId: Digest;
  readonly blob: LayerBlob;
  /** True when the layer has no changes (BuildKit drops such layers from the image and marks history empty). */
  readonly empty: boolean;
  /** When the layer was built (ISO 8601); absent for base-image layers. */
  readonly created?: string;
}

/**
 * Brings a layer blob that is not in the content store into it (e.g. from a remote build cache), verifying its
 * digest. Resolves true when the blob is now in the store, false when this fetcher does not know the blob.
 */
export type BlobFetcher = (blob: LayerBlob, signal?: AbortSignal) => Promise<boolean>;
