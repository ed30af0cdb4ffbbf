/**
 * cache/remote: shared build caches (`--cache-from` / `--cache-to`) in a registry, an OCI layout directory or inline
 * in the image config. Imports are lazy (config first, blobs on demand, verified); exports reuse the image's blobs.
 * It must not run builds or decide outputs: the composition root wires it around the solver and the exporter.
 */
export { parseCacheExportSpec, parseCacheImportSpec, type CacheExportOptions, type CacheExportSpec, type CacheImportSpec } from "./spec.js";
export { SharedCache, type SharedCacheDeps } from "./shared.js";
export { SharedCacheStore } from "./shared-store.js";
export { CacheImports, type CacheImportDeps, type CacheSource, type ImportedHit } from "./imports.js";
export { collectCacheConfig, exportCache, inlineCacheValue, type BuildCacheState, type CacheExportDeps } from "./export.js";
export { exportCacheMounts, restoreCacheMounts } from "./mounts.js";
export {
  CACHE_CONFIG_MEDIA_TYPE, INLINE_CACHE_FIELD, CacheConfigBuilder, chainOf, configBlobs, parseCacheConfig,
  type CacheConfig, type CacheLayer, type CacheMountEntry, type CacheRecord, type ChainLayer,
} from "./format.js";
export { RemoteCacheError, type RemoteCacheErrorCode } from "./errors.js";
