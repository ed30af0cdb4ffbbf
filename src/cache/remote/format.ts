/**
 * The cache config: what a shared build cache holds besides layer blobs. Modelled on BuildKit's cache config
 * (`application/vnd.buildkit.cacheconfig.v0`: `layers` as chain links {blob, parent}, `records` naming a chain),
 * but self-contained: every layer carries its descriptor, diff_id and creation time, and every record the inputs
 * of its key, so an importer can check that the key is what its inputs hash to.
 */
import { computeCacheKey, type CacheKeyRecord } from "../../solver/index.js";
import { isDigest, type Digest } from "../../util/digest.js";
import type { LayerBlob } from "../index.js";

/** Media type of the cache config blob (the config of the cache manifest). */
export const CACHE_CONFIG_MEDIA_TYPE = "application/vnd.tsbuild.cache.config.v1+json";
/** The image config field that holds an inline cache (the name BuildKit uses). */
export const INLINE_CACHE_FIELD = "moby.buildkit.cache.v0";
/** Layer annotations, as BuildKit writes them on cache manifests. */
export const ANNOTATION_UNCOMPRESSED = "containerd.io/uncompressed";
export const ANNOTATION_CREATED = "buildkit/createdat";

/** One link of a layer chain: a blob on top of the chain ending at `parent` (-1: the bottom layer). */
export interface CacheLayer extends LayerBlob {
  readonly diffId: Digest;
  readonly parent: number;
  readonly created?: string;
  readonly empty?: boolean;
}

/** A cache key and the layer chain its step produced (`layer` -1: the empty filesystem). */
export interface CacheRecord {
  readonly key: Digest;
  readonly layer: number;
  /** What went into the key (opDigest + inputs), so the key can be verified and explained. */
  readonly inputs: Omit<CacheKeyRecord, "key" | "explain">;
}

/** A `RUN --mount=type=cache` directory exported as a tar layer (tsbuild extension). */
export interface CacheMountEntry {
  /** sha256 hex of the mount id (the directory name under the root's cache mounts). */
  readonly id: string;
  readonly blob: LayerBlob;
}

export interface CacheConfig {
  readonly v: 1;
  readonly layers: readonly CacheLayer[];
  readonly records: readonly CacheRecord[];
  readonly mounts?: readonly CacheMountEntry[];
}

/** A chain of layers, bottom first, as stored in a BuildRef (without snapshot keys). */
export interface ChainLayer extends LayerBlob {
  readonly diffId: Digest;
  readonly created?: string;
  readonly empty?: boolean;
}

/** Accumulates records and deduplicates chain links. */
export class CacheConfigBuilder {
  readonly #layers: CacheLayer[] = [];
  readonly #links = new Map<string, number>();
  readonly #records = new Map<string, CacheRecord>();
  readonly #mounts: CacheMountEntry[] = [];

  /** Add a record whose result is `chain` (bottom first). */
  add(record: CacheKeyRecord, chain: readonly ChainLayer[]): void {
    if (this.#records.has(record.key)) return;
    let parent = -1;
    for (const l of chain) {
      const link = `${parent} ${l.digest}`;
      let i = this.#links.get(link);
      if (i === undefined) {
        i = this.#layers.length;
        this.#layers.push({
          digest: l.digest, size: l.size, mediaType: l.mediaType, diffId: l.diffId, parent,
          ...(l.created !== undefined ? { created: l.created } : {}), ...(l.empty ? { empty: true } : {}),
        });
        this.#links.set(link, i);
      }
      parent = i;
    }
    const inputs = { opDigest: record.opDigest, deps: record.deps.map((d) => ({ inputKey: d.inputKey, ...(d.contentDigest ? { contentDigest: d.contentDigest } : {}), ...(d.selector !== undefined ? { selector: d.selector } : {}) })) };
    this.#records.set(record.key, { key: record.key, layer: parent, inputs });
  }

  addMount(entry: CacheMountEntry): void {
    this.#mounts.push(entry);
  }

  get size(): number {
    return this.#records.size;
  }

  build(): CacheConfig {
    return { v: 1, layers: [...this.#layers], records: [...this.#records.values()], ...(this.#mounts.length > 0 ? { mounts: [...this.#mounts] } : {}) };
  }
}

/** The distinct blobs a config references (layers and mounts), in first-use order. */
export function configBlobs(config: CacheConfig): LayerBlob[] {
  const seen = new Map<string, LayerBlob>();
  for (const l of config.layers) if (!seen.has(l.digest)) seen.set(l.digest, { digest: l.digest, size: l.size, mediaType: l.mediaType });
  for (const m of config.mounts ?? []) if (!seen.has(m.blob.digest)) seen.set(m.blob.digest, m.blob);
  return [...seen.values()];
}

const isDigestValue = (d: unknown): boolean => typeof d === "string" && isDigest(d);

const isBlob = (b: unknown): boolean => {
  const o = b as LayerBlob | null;
  return typeof o === "object" && o !== null && isDigestValue(o.digest) && Number.isSafeInteger(o.size) && o.size >= 0 && typeof o.mediaType === "string";
};

/**
 * Parse and check a cache config. Malformed layers make the whole config invalid (undefined); records whose key
 * does not hash from its inputs, or whose chain is out of range, are dropped (counted in `dropped`).
 */
export function parseCacheConfig(text: string): { config: CacheConfig; dropped: number } | undefined {
  let raw: Partial<CacheConfig>;
  try {
    raw = JSON.parse(text) as Partial<CacheConfig>;
  } catch {
    return undefined;
  }
  if (raw?.v !== 1 || !Array.isArray(raw.layers) || !Array.isArray(raw.records)) return undefined;
  const layers = raw.layers;
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i]!;
    if (!isBlob(l) || !isDigestValue(l.diffId) || !Number.isInteger(l.parent) || l.parent < -1 || l.parent >= i) return undefined;
  }
  let dropped = 0;
  const records: CacheRecord[] = [];
  for (const r of raw.records) {
    const ok = r && isDigestValue(r.key) && Number.isInteger(r.layer) && r.layer >= -1 && r.layer < layers.length && r.inputs && isDigestValue(r.inputs.opDigest) &&
      Array.isArray(r.inputs.deps) && r.inputs.deps.every((d: CacheRecord["inputs"]["deps"][number]) => d && isDigestValue(d.inputKey) && (d.contentDigest === undefined || isDigestValue(d.contentDigest)));
    if (ok && computeCacheKey(r.inputs.opDigest, r.inputs.deps) === r.key) records.push(r);
    else dropped++;
  }
  const mounts = Array.isArray(raw.mounts) ? raw.mounts.filter((m) => m && typeof m.id === "string" && /^[0-9a-f]{64}$/.test(m.id) && isBlob(m.blob)) : [];
  return { config: { v: 1, layers, records, ...(mounts.length > 0 ? { mounts } : {}) }, dropped };
}

/** The chain of a record's layer index, bottom first. */
export function chainOf(config: CacheConfig, layer: number): CacheLayer[] {
  const out: CacheLayer[] = [];
  for (let i = layer; i >= 0; i = config.layers[i]!.parent) out.push(config.layers[i]!);
  return out.reverse();
}
