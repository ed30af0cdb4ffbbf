/**
 * The solver's cache for ops: only filesystem results (`fs`) are stored, as refs in the local cache records.
 * Local contexts and downloads are never cached: they are keyed by content and re-read each build.
 */
import type { BuildRef } from "../cache/index.js";
import type { CacheKeyRecord, CacheStore } from "../solver/index.js";
import type { Digest } from "../util/digest.js";
import type { OpResult } from "./types.js";

/** A CacheStore<OpResult> over a store of BuildRefs (the local cache records, or those plus shared caches). */
export function createOpCacheStore(records: { load(key: Digest, signal?: AbortSignal): Promise<BuildRef | undefined>; save: CacheStore<BuildRef>["save"] }): CacheStore<OpResult> {
  return {
    async load(key: Digest, signal: AbortSignal): Promise<OpResult | undefined> {
      const ref = await records.load(key, signal);
      return ref ? { kind: "fs", ref } : undefined;
    },
    async save(key: Digest, result: OpResult, record: CacheKeyRecord): Promise<void> {
      if (result.kind !== "fs") return;
      // Per-file context checksums are for the build record (--explain), not for every cache record.
      const { contextFiles: _files, ...facts } = record.explain ?? {};
      await records.save(key, result.ref, record.explain ? { ...record, explain: facts } : record);
    },
  };
}
