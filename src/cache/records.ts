import { mkdir, readFile, rm, utimes } from "node:fs/promises";
import { join } from "node:path";
import { digestHex, type Digest } from "../util/digest.js";
import { writeFileAtomic, type RootLayout } from "../store/index.js";
import type { CacheKeyRecord, CacheStore } from "../solver/index.js";
import type { RefManager } from "./refs.js";
import type { BuildRef } from "./types.js";

interface StoredRecord {
  readonly v: 1;
  readonly key: Digest;
  readonly ref: BuildRef;
  readonly record: CacheKeyRecord;
  readonly created: string;
}

/**
 * The local build cache: `cache/records/<key>.json` maps a cache key to the ref it produced. A record whose layers
 * can no longer be had (snapshot pruned and no blob) is ignored and removed. Writes are atomic, so concurrent
 * builds sharing a root at worst both write the same key (last writer wins; both refs are valid).
 */
export class LocalCacheStore implements CacheStore<BuildRef> {
  readonly #dir: string;
  readonly #refs: RefManager;

  constructor(layout: RootLayout, refs: RefManager) {
    this.#dir = join(layout.cache, "records");
    this.#refs = refs;
  }

  async load(key: Digest): Promise<BuildRef | undefined> {
    const path = this.#path(key);
    let rec: StoredRecord;
    try {
      rec = JSON.parse(await readFile(path, "utf8")) as StoredRecord;
    } catch {
      return undefined;
    }
    if (rec?.v !== 1 || rec.key !== key || !Array.isArray(rec.ref?.layers)) return undefined;
    if (!(await this.#refs.available(rec.ref))) {
      await rm(path, { force: true });
      return undefined;
    }
    // Last use for `prune --keep-storage` (least recently used records go first): the file's mtime.
    const now = new Date();
    await utimes(path, now, now).catch(() => {});
    return rec.ref;
  }

  async save(key: Digest, ref: BuildRef, record: CacheKeyRecord): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const rec: StoredRecord = { v: 1, key, ref, record, created: new Date().toISOString() };
    await writeFileAtomic(this.#path(key), JSON.stringify(rec));
  }

  /** What went into a key, for `--explain` (undefined when unknown). */
  async record(key: Digest): Promise<CacheKeyRecord | undefined> {
    try {
      return (JSON.parse(await readFile(this.#path(key), "utf8")) as StoredRecord).record;
    } catch {
      return undefined;
    }
  }

  #path(key: Digest): string {
    return join(this.#dir, `${digestHex(key)}.json`);
  }
}
