/**
 * Imported caches (`--cache-from`): only the cache config is read up front; layer blobs stay where they are until a
 * later miss must unpack them or an export needs them. A source that is missing, unreachable or not a cache is a
 * warning. A blob that does not verify on fetch poisons every record whose chain holds it (warning; those steps
 * run again).
 */
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { digestHex, type Digest } from "../../util/digest.js";
import { parseReference, type ImageReference, type Index, type Manifest } from "../../image/index.js";
import type { ProgressSink } from "../../progress/events.js";
import type { Registry } from "../../registry/index.js";
import type { ContentStore } from "../../store/index.js";
import type { RefManager } from "../index.js";
import type { BlobFetcher, BuildRef, LayerBlob } from "../index.js";
import { RemoteCacheError } from "./errors.js";
import { CACHE_CONFIG_MEDIA_TYPE, INLINE_CACHE_FIELD, chainOf, configBlobs, parseCacheConfig, type CacheConfig, type CacheRecord } from "./format.js";
import type { CacheImportSpec } from "./spec.js";

/** What importing needs. */
export interface CacheImportDeps {
  readonly store: ContentStore;
  readonly registry: Registry;
  readonly refs: RefManager;
  readonly progress: ProgressSink;
  readonly signal?: AbortSignal | undefined;
}

/** One imported cache: its config and a way to fetch its blobs into the store. */
export interface CacheSource {
  /** For messages: `registry.example.com/team/app:cache`, `local:/path`. */
  readonly name: string;
  readonly config: CacheConfig;
  /** The repository holding the blobs, for registry sources. */
  readonly repository?: ImageReference;
  /** Fetch one of this source's blobs into the store, verified. */
  fetch(blob: LayerBlob, signal?: AbortSignal): Promise<void>;
}

/** A cache record found in an import, with the ref it stands for. */
export interface ImportedHit {
  readonly ref: BuildRef;
  readonly record: CacheRecord;
  readonly source: string;
}

/** Every `--cache-from` of a build. */
export class CacheImports {
  readonly #sources: readonly CacheSource[];
  readonly #deps: CacheImportDeps;
  readonly #index = new Map<string, { source: CacheSource; record: CacheRecord }[]>();
  readonly #poisoned = new Set<string>();
  #fresh: string[] = [];

  constructor(sources: readonly CacheSource[], deps: CacheImportDeps) {
    this.#sources = sources;
    this.#deps = deps;
    for (const source of sources) {
      for (const record of source.config.records) {
        let list = this.#index.get(record.key);
        if (!list) this.#index.set(record.key, (list = []));
        list.push({ source, record });
      }
    }
  }

  /** Open every spec; failures become warnings and the source is left out. */
  static async open(specs: readonly CacheImportSpec[], deps: CacheImportDeps): Promise<CacheImports> {
    const opened = await Promise.all(specs.map(async (spec) => {
      const label = spec.type === "registry" ? spec.ref : `local:${spec.src}`;
      try {
        const src = spec.type === "registry" ? await openRegistrySource(spec.ref, deps) : await openLocalSource(spec.src, spec.tag, deps.store);
        if (src.dropped > 0) warn(deps.progress, `cache ${label}: ${src.dropped} records whose key does not match their inputs were ignored`);
        return src.source;
      } catch (err) {
        warn(deps.progress, `cache ${label} was not imported: ${reason(err)}`);
        return undefined;
      }
    }));
    const imports = new CacheImports(opened.filter((s): s is CacheSource => s !== undefined), deps);
    deps.refs.addBlobFetcher(imports.fetcher);
    return imports;
  }

  /** The opened sources (those that failed to open are not listed). */
  get sources(): readonly CacheSource[] {
    return this.#sources;
  }

  /** Number of records over all sources. */
  get size(): number {
    return this.#index.size;
  }

  /** The first usable record for `key` (sources in the order given), as a lazy ref over remote blobs. */
  load(key: Digest): ImportedHit | undefined {
    for (const { source, record } of this.#index.get(key) ?? []) {
      const chain = chainOf(source.config, record.layer);
      if (chain.some((l) => this.#poisoned.has(l.digest))) continue;
      const base = this.#deps.refs.fromImage(chain.map((l) => ({ diffId: l.diffId, blob: { digest: l.digest, size: l.size, mediaType: l.mediaType } })));
      const ref: BuildRef = {
        layers: base.layers.map((l, i) => ({ ...l, ...(chain[i]!.created !== undefined ? { created: chain[i]!.created } : {}), ...(chain[i]!.empty ? { empty: true } : {}) })),
      };
      return { ref, record, source: source.name };
    }
    return undefined;
  }

  /** Blobs found to be bad since the last call (each is reported once). */
  takePoisoned(): string[] {
    const out = this.#fresh;
    this.#fresh = [];
    return out;
  }

  /** Whether a registry source in the repository's registry lists this blob (a push there can mount it). */
  mountable(digest: string, domain: string): boolean {
    return this.#sources.some((s) => s.repository?.domain === domain && configBlobs(s.config).some((b) => b.digest === digest));
  }

  /** The RefManager hook: fetch a blob from the first source that lists it. */
  readonly fetcher: BlobFetcher = async (blob, signal) => {
    if (this.#poisoned.has(blob.digest)) return false;
    const sources = this.#sources.filter((s) => configBlobs(s.config).some((b) => b.digest === blob.digest));
    if (sources.length === 0) return false;
    let last: unknown;
    for (const s of sources) {
      try {
        await s.fetch(blob, signal);
        return true;
      } catch (err) {
        if (signal?.aborted) throw err;
        last = err;
        warn(this.#deps.progress, `cache ${s.name}: layer ${blob.digest} could not be used (${reason(err)}); the steps that made it run again`);
      }
    }
    this.#poisoned.add(blob.digest);
    this.#fresh.push(blob.digest);
    throw new RemoteCacheError("TSB_CACHE_REMOTE_BLOB", `cached layer ${blob.digest} could not be fetched: ${reason(last)}`, {
      digest: blob.digest,
      cause: last,
      hint: "the shared cache is damaged or unreachable; the build retries without it",
    });
  };
}

function warn(progress: ProgressSink, message: string): void {
  progress({ type: "warning", message, time: Date.now() });
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function openRegistrySource(refText: string, deps: CacheImportDeps): Promise<{ source: CacheSource; dropped: number }> {
  const ref = parseReference(refText);
  const { registry, store, signal } = deps;
  const resolved = await registry.resolve(ref, signal ? { signal } : {});
  const cfgDesc = resolved.parsed.config;
  await registry.fetchBlob(ref, cfgDesc, store, { signal });
  const bytes = await store.readBytes(cfgDesc.digest);
  let text: string;
  if (cfgDesc.mediaType === CACHE_CONFIG_MEDIA_TYPE) {
    text = bytes.toString("utf8");
  } else {
    // An image: its config may carry an inline cache.
    const inline = (JSON.parse(bytes.toString("utf8")) as Record<string, unknown>)[INLINE_CACHE_FIELD];
    if (typeof inline !== "string") throw new Error(`${ref.familiar} is an image without an inline cache (${INLINE_CACHE_FIELD}), not a build cache`);
    text = Buffer.from(inline, "base64").toString("utf8");
  }
  const parsed = parseCacheConfig(text);
  if (!parsed) throw new Error(`${ref.familiar} holds no tsbuild cache config (a BuildKit cache is not readable by tsbuild)`);
  await registry.noteBlobSources(ref, configBlobs(parsed.config).map((b) => b.digest));
  return {
    dropped: parsed.dropped,
    source: {
      name: ref.familiar,
      config: parsed.config,
      repository: ref,
      fetch: async (blob, s) => void (await registry.fetchBlob(ref, blob, store, { signal: s })),
    },
  };
}

async function openLocalSource(dir: string, tag: string, store: ContentStore): Promise<{ source: CacheSource; dropped: number }> {
  const blobPath = (d: string): string => join(dir, "blobs", "sha256", digestHex(d as Digest));
  const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as Index;
  const entry = (index.manifests ?? []).find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag) ??
    (index.manifests?.length === 1 ? index.manifests[0] : undefined);
  if (!entry) throw new Error(`${dir}/index.json has no cache tagged ${JSON.stringify(tag)}`);
  const manifest = JSON.parse(await readFile(blobPath(entry.digest), "utf8")) as Manifest;
  if (manifest.config?.mediaType !== CACHE_CONFIG_MEDIA_TYPE) throw new Error(`${dir} holds an image, not a tsbuild build cache`);
  const parsed = parseCacheConfig(await readFile(blobPath(manifest.config.digest), "utf8"));
  if (!parsed) throw new Error(`${dir}: the cache config is not valid`);
  return {
    dropped: parsed.dropped,
    source: {
      name: `local:${dir}`,
      config: parsed.config,
      fetch: async (blob, signal) => {
        if (await store.has(blob.digest)) return;
        await store.ingest({ digest: blob.digest, size: blob.size }, createReadStream(blobPath(blob.digest)), { signal });
      },
    },
  };
}
