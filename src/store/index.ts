/**
 * store: content-addressed blobs (sha256), leases, locks, GC and fsck under one tsbuild root. It is the only room
 * that makes state crash-safe (tmp + fsync + rename); it must not know image formats (roots come from providers).
 *
 * Root layout (`rootLayout(resolveRoot(opts))`):
 *   blobs/sha256/<hex>   immutable content; written only by ingest, deleted only by GC
 *   ingest/              in-progress blob writes `<pid>.<random>.<host>`; reaped when the owner process is gone
 *   images/db.json       local image names → manifest/index descriptors (src/image), atomic rewrite under a lock
 *   leases/<id>.json     leases protecting digests and snapshot keys from GC until they expire or are deleted
 *   locks/<name>.lock    cross-process locks (O_EXCL file with pid + host; stale owners are detected)
 *   snapshots/           owned by the snapshot room
 *   cache/               build-cache records, owned by the cache room
 *   variants/            `<hex>.<name>`: digest of a blob derived from blob <hex> (e.g. its gzip layer), see variants.ts
 *   tmp/                 scratch space on the root's filesystem; name entries with `tempName()`
 */
export { resolveRoot, rootLayout, type ResolveRootOptions, type RootLayout } from "./root.js";
export { openContentStore, reapRootTemps } from "./content-store.js";
export { StoreError, type StoreErrorCode } from "./errors.js";
export { tempName, writeFileAtomic, fsyncDir } from "./fs-util.js";
export { acquireLock, withLock, type LockHandle, type LockOptions } from "./lock.js";
export { addToLease, createLease, deleteLease, getLease, listLeases, withLease, type CreateLeaseOptions, type Lease } from "./leases.js";
export {
  diskUsage,
  prune,
  registerRootProvider,
  type ProviderPruneOptions,
  type PruneOptions,
  type PruneReport,
  type RootProvider,
  type UsageRow,
} from "./gc.js";
export { fsck, type FsckReport } from "./fsck.js";
export { deriveVariant, lookupVariant, pruneVariants, recordVariant, type DerivedVariant } from "./variants.js";
export type {
  BlobInfo,
  BlobWriter,
  ByteSource,
  ContentStore,
  IngestExpected,
  StoreCallOptions,
  IngestOptions,
  VerifyResult,
} from "./types.js";
export { checkRoot, mountsBelow, type RootCheckOptions, type RootCheckReport, type RootFinding } from "./check-root.js";
