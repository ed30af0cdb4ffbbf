/**
 * Cache export (`--cache-to`): the records of this build (mode=min: the steps whose result is part of the final
 * image; mode=max: every step) with their layer chains, as an OCI image manifest whose config is the cache config
 * and whose layers are the chains' blobs — the very blobs of the image (exported once, never recompressed; base
 * layers as pulled). Pushed to a registry (blobs the registry has are skipped, blobs of imported caches in the same
 * registry are mounted), or written as an OCI layout directory; or embedded in the image config (inline).
 */
import { copyFile, mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { digestHex, type Digest } from "../../util/digest.js";
import { MediaType, parseReference, type Descriptor, type Index } from "../../image/index.js";
import type { ProgressSink } from "../../progress/events.js";
import type { Registry } from "../../registry/index.js";
import type { VertexOutcome } from "../../solver/index.js";
import type { Compression } from "../../snapshot/index.js";
import { writeFileAtomic, type ContentStore } from "../../store/index.js";
import type { RefManager } from "../index.js";
import type { BuildRef, ExportedLayer, LayerBlob } from "../index.js";
import { RemoteCacheError } from "./errors.js";
import {
  ANNOTATION_CREATED, ANNOTATION_UNCOMPRESSED, CACHE_CONFIG_MEDIA_TYPE, CacheConfigBuilder, configBlobs, type CacheConfig, type ChainLayer,
} from "./format.js";
import type { CacheImports } from "./imports.js";
import { exportCacheMounts } from "./mounts.js";
import type { CacheExportSpec } from "./spec.js";

/** What a build leaves for the cache exporter. */
export interface BuildCacheState {
  /** Every step of the build with its key and key inputs. */
  readonly steps: readonly VertexOutcome[];
  /** The ref of every key (saved or found). */
  readonly results: ReadonlyMap<Digest, BuildRef>;
  /** The build result. */
  readonly final: BuildRef;
}

/** What exporting needs. */
export interface CacheExportDeps {
  readonly refs: RefManager;
  readonly store: ContentStore;
  readonly registry: () => Registry;
  readonly imports?: CacheImports | undefined;
  readonly cacheMountsDir: string;
  readonly progress: ProgressSink;
  readonly signal?: AbortSignal | undefined;
}

const isPrefix = (ref: BuildRef, of: BuildRef): boolean =>
  ref.layers.length <= of.layers.length && ref.layers.every((l, i) => l.snapshot === of.layers[i]!.snapshot);

/** How the cache's layers are compressed: `level` and `force` as for image outputs. */
export interface CacheCompression {
  readonly compression: Compression;
  readonly level?: number | undefined;
  readonly force?: boolean | undefined;
}

/** The cache config of a build for `mode`; layers are exported (or reused) with `compression`. */
export async function collectCacheConfig(state: BuildCacheState, mode: "min" | "max", compressionArg: Compression | CacheCompression, deps: Pick<CacheExportDeps, "refs" | "signal">): Promise<CacheConfigBuilder> {
  const { compression, level, force } = typeof compressionArg === "string" ? { compression: compressionArg, level: undefined, force: undefined } : compressionArg;
  const exported = new Map<string, Promise<ExportedLayer>>();
  const layerOf = (ref: BuildRef, i: number): Promise<ExportedLayer> => {
    const snap = ref.layers[i]!.snapshot;
    let p = exported.get(snap);
    if (!p) {
      p = deps.refs.exportLayer(ref, i, {
        compression,
        ...(level !== undefined ? { level } : {}),
        ...(force ? { force: true } : {}),
        ...(deps.signal ? { signal: deps.signal } : {}),
      });
      exported.set(snap, p);
    }
    return p;
  };
  const builder = new CacheConfigBuilder();
  const seen = new Set<string>();
  for (const step of state.steps) {
    const ref = state.results.get(step.cacheKey);
    if (!ref || seen.has(step.cacheKey)) continue;
    seen.add(step.cacheKey);
    if (mode === "min" && !isPrefix(ref, state.final)) continue;
    const layers = await Promise.all(ref.layers.map((_, i) => layerOf(ref, i)));
    const chain: ChainLayer[] = layers.map((l) => ({
      ...l.blob, diffId: l.diffId, ...(l.created !== undefined ? { created: l.created } : {}), ...(l.empty ? { empty: true } : {}),
    }));
    builder.add(step.record, chain);
  }
  return builder;
}

/** Export the build's cache to a registry or a local directory (not inline: see {@link inlineCacheValue}). */
export async function exportCache(spec: Exclude<CacheExportSpec, { type: "inline" }>, state: BuildCacheState, deps: CacheExportDeps): Promise<Descriptor> {
  const builder = await collectCacheConfig(state, spec.mode, { compression: spec.compression, level: spec.level, force: spec.force }, deps);
  if (spec.cacheMounts) for (const m of await exportCacheMounts(deps.cacheMountsDir, deps.store, deps.signal)) builder.addMount(m);
  const config = builder.build();
  const target = spec.type === "registry" ? parseReference(spec.ref) : undefined;
  try {
    // Blobs not here must be fetched, unless the target registry can mount them from an imported cache.
    for (const b of configBlobs(config)) {
      if (await deps.store.has(b.digest)) continue;
      if (target && deps.imports?.mountable(b.digest, target.domain)) continue;
      if (!(await deps.imports?.fetcher(b, deps.signal))) {
        throw new RemoteCacheError("TSB_CACHE_REMOTE_EXPORT", `layer ${b.digest} of the cache is neither in the store nor in an imported cache`, {
          hint: "rebuild without --cache-from, or export the cache to the registry it was imported from",
        });
      }
    }
    const manifest = await writeCacheManifest(config, deps.store);
    if (target) {
      await deps.registry().push(deps.store, manifest, target, deps.signal ? { signal: deps.signal } : {});
    } else if (spec.type === "local") {
      await writeLocalCache(spec.dest, spec.tag, manifest, config, deps.store);
    }
    return manifest;
  } catch (err) {
    if (err instanceof RemoteCacheError) throw err;
    const where = spec.type === "registry" ? spec.ref : spec.dest;
    throw new RemoteCacheError("TSB_CACHE_REMOTE_EXPORT", `exporting the build cache to ${where} failed: ${(err as Error).message}`, {
      cause: err,
      hint: spec.type === "registry" ? "check the registry and your push rights (tsbuild login), or add ignore-error=true" : "check that the directory is writable",
    });
  }
}

/** Write the config and the cache manifest into the store. */
async function writeCacheManifest(config: CacheConfig, store: ContentStore): Promise<Descriptor> {
  const cfg = await store.putBytes(JSON.stringify(config));
  const info = new Map<string, { diffId?: string; created?: string }>();
  for (const l of config.layers) if (!info.has(l.digest)) info.set(l.digest, { diffId: l.diffId, ...(l.created ? { created: l.created } : {}) });
  const layers = configBlobs(config).map((b: LayerBlob): Descriptor => {
    const i = info.get(b.digest);
    const annotations: Record<string, string> = {};
    if (i?.diffId) annotations[ANNOTATION_UNCOMPRESSED] = i.diffId;
    if (i?.created) annotations[ANNOTATION_CREATED] = i.created;
    return { mediaType: b.mediaType, digest: b.digest, size: b.size, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) };
  });
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: cfg.digest, size: cfg.size },
    layers,
  };
  const m = await store.putBytes(JSON.stringify(manifest));
  return { mediaType: MediaType.ociManifest, digest: m.digest, size: m.size };
}

/** Write (or update) an OCI layout directory holding the cache under `tag`. */
async function writeLocalCache(dest: string, tag: string, manifest: Descriptor, config: CacheConfig, store: ContentStore): Promise<void> {
  const blobs = join(dest, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const cfgDigest = (JSON.parse((await store.readBytes(manifest.digest)).toString("utf8")) as { config: Descriptor }).config.digest;
  for (const d of [...configBlobs(config).map((b) => b.digest), cfgDigest, manifest.digest]) {
    const path = join(blobs, digestHex(d));
    if (await stat(path).then(() => true, () => false)) continue;
    const tmp = `${path}.tmp-${randomUUID()}`;
    try {
      await copyFile(store.path(d), tmp);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
  await writeFileAtomic(join(dest, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  let index: Index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] } as Index;
  try {
    index = JSON.parse(await readFile(join(dest, "index.json"), "utf8")) as Index;
  } catch {
    // a new layout
  }
  const name = "org.opencontainers.image.ref.name";
  const others = (index.manifests ?? []).filter((m) => m.annotations?.[name] !== tag);
  const next = { ...index, manifests: [...others, { ...manifest, annotations: { [name]: tag } }] };
  await writeFileAtomic(join(dest, "index.json"), JSON.stringify(next));
}

/**
 * The inline cache of an image (mode=min), as the base64 value of the image config field `moby.buildkit.cache.v0`.
 * Built layers without changes are dropped from the image, so records whose chain holds one are left out.
 */
export async function inlineCacheValue(state: BuildCacheState, compression: Compression, deps: Pick<CacheExportDeps, "refs" | "signal">): Promise<string> {
  const builder = await collectCacheConfig(state, "min", compression, deps);
  const full = builder.build();
  const kept = new CacheConfigBuilder();
  for (const r of full.records) {
    const chain: ChainLayer[] = [];
    let ok = true;
    for (let i = r.layer; i >= 0; i = full.layers[i]!.parent) {
      const l = full.layers[i]!;
      if (l.empty) ok = false;
      chain.unshift(l);
    }
    if (ok) kept.add({ key: r.key, ...r.inputs }, chain);
  }
  return Buffer.from(JSON.stringify(kept.build())).toString("base64");
}
