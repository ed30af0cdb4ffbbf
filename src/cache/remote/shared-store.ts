/**
 * The build's cache store when shared caches are in play: local records first, then imported ones. It remembers
 * which ref every key of this build stands for (saved, or found), which is what a cache export writes.
 */
import type { CacheKeyRecord, CacheStore } from "../../solver/index.js";
import type { Digest } from "../../util/digest.js";
import type { LocalCacheStore } from "../index.js";
import type { BuildRef } from "../index.js";
import type { CacheImports } from "./imports.js";

/** A CacheStore<BuildRef> over the local records and the imported caches. */
export class SharedCacheStore implements CacheStore<BuildRef> {
  readonly #local: LocalCacheStore;
  readonly #imports: CacheImports | undefined;
  readonly #results = new Map<Digest, BuildRef>();
  readonly #imported = new Set<Digest>();

  constructor(local: LocalCacheStore, imports?: CacheImports) {
    this.#local = local;
    this.#imports = imports;
  }

  async load(key: Digest, _signal?: AbortSignal): Promise<BuildRef | undefined> {
    const local = await this.#local.load(key);
    if (local) {
      this.#results.set(key, local);
      return local;
    }
    const hit = this.#imports?.load(key);
    if (!hit) return undefined;
    this.#results.set(key, hit.ref);
    this.#imported.add(key);
    // Keep it locally too: once its blobs are here, later builds of this root hit without --cache-from.
    await this.#local.save(key, hit.ref, { key, ...hit.record.inputs }).catch(() => {});
    return hit.ref;
  }

  async save(key: Digest, ref: BuildRef, record: CacheKeyRecord): Promise<void> {
    this.#results.set(key, ref);
    await this.#local.save(key, ref, record);
  }

  /** The ref of every key this build saved or found. */
  get results(): ReadonlyMap<Digest, BuildRef> {
    return this.#results;
  }

  /** Keys answered from an imported cache. */
  get imported(): ReadonlySet<Digest> {
    return this.#imported;
  }
}
