/**
 * cache: build results as immutable layer chains over committed snapshots (refs), the local cache records that
 * map cache keys to refs, and layer export with reuse (a blob is produced at most once per layer and
 * compression; base-image blobs are never recompressed, except uncompressed ones for a compressed output), and GC of the build cache (gc.ts: records, snapshots,
 * layer metadata, cache mounts) with the leases builds hold against it (gc-lease.ts). Knows snapshots and the
 * store, never the sandbox or image formats (image layers come in as diff_ids).
 */
export { EMPTY_REF, type ActiveRef, type BlobFetcher, type BuildRef, type ExportedLayer, type LayerBlob, type RefLayer, type RefView } from "./types.js";
export { RefManager, chainIds, compressLayerBlob, layerVariantName, mediaTypeCompression, type ExportLayerOptions, type PrepareOptions, type RefManagerOptions } from "./refs.js";
export { LocalCacheStore } from "./records.js";
export { checkCache, type CacheCheckOptions, type CacheCheckReport, type CacheFinding } from "./check.js";
export { CacheGc, pruneBuildCache, type CacheGcOptions, type CachePrunePolicy, type CachePruneReport, type CacheUsage, type PruneBuildCacheOptions, type SnapshotUsage } from "./gc.js";
export { BuildLease, LeasedRefManager, BUILD_LEASE_LABEL, isLeaseOwnerAlive, liveBuildLeases, reapDeadLeases } from "./gc-lease.js";
export { incrementalKey, readDerivedLayer, readIncrementalRecord, writeIncrementalRecord, type DerivedLayer, type IncrementalItem, type IncrementalRecord } from "./incremental.js";
