/**
 * One build's shared caches: opens the `--cache-from` sources (lazily: configs only) and restores cache mounts,
 * hands the solver a cache store over local + imported records, decides whether a failed solve is worth a retry
 * (a poisoned cached layer), adds the inline cache to the image config, and runs the `--cache-to` exports.
 */
import type { ImageConfig } from "../../image/index.js";
import type { ProgressSink } from "../../progress/events.js";
import type { Registry } from "../../registry/index.js";
import type { Compression } from "../../snapshot/index.js";
import type { ContentStore, RootLayout } from "../../store/index.js";
import { LocalCacheStore } from "../index.js";
import type { RefManager } from "../index.js";
import { RemoteCacheError } from "./errors.js";
import { exportCache, inlineCacheValue, type BuildCacheState } from "./export.js";
import { INLINE_CACHE_FIELD } from "./format.js";
import { CacheImports } from "./imports.js";
import { restoreCacheMounts } from "./mounts.js";
import { SharedCacheStore } from "./shared-store.js";
import type { CacheExportSpec, CacheImportSpec } from "./spec.js";

/** What the shared caches of a build need (wired by the composition root). */
export interface SharedCacheDeps {
  readonly layout: RootLayout;
  readonly store: ContentStore;
  readonly refs: RefManager;
  readonly registry: Registry;
  readonly cacheMountsDir: string;
  readonly progress: ProgressSink;
  readonly signal?: AbortSignal | undefined;
}

/** How many times a build is re-solved after cached layers turned out to be bad. */
const MAX_RETRIES = 3;

/** The shared caches of one build. */
export class SharedCache {
  readonly #deps: SharedCacheDeps;
  readonly #imports: CacheImports | undefined;
  readonly #to: readonly CacheExportSpec[];
  #retries = 0;

  private constructor(deps: SharedCacheDeps, imports: CacheImports | undefined, to: readonly CacheExportSpec[]) {
    this.#deps = deps;
    this.#imports = imports;
    this.#to = to;
  }

  /** Open the imports (failures are warnings) and restore their cache mounts. */
  static async open(from: readonly CacheImportSpec[], to: readonly CacheExportSpec[], deps: SharedCacheDeps): Promise<SharedCache> {
    let imports: CacheImports | undefined;
    if (from.length > 0) {
      imports = await CacheImports.open(from, { store: deps.store, registry: deps.registry, refs: deps.refs, progress: deps.progress, signal: deps.signal });
      await restoreCacheMounts(imports, deps.cacheMountsDir, deps.layout, deps.store, deps.progress, deps.signal);
    }
    return new SharedCache(deps, imports, to);
  }

  /** A fresh cache store for one solve: local records first, then imported ones. */
  cacheStore(): SharedCacheStore {
    return new SharedCacheStore(new LocalCacheStore(this.#deps.layout, this.#deps.refs), this.#imports);
  }

  /**
   * After a failed solve or blob fetch: true when cached layers were found bad since the last call (they are now
   * ignored, with a warning) and the build should be solved again, so the steps that made them run.
   */
  shouldRetry(err: unknown): boolean {
    const bad = this.#imports?.takePoisoned() ?? [];
    if (bad.length === 0 || this.#deps.signal?.aborted || this.#retries >= MAX_RETRIES) return false;
    this.#retries++;
    const why = err instanceof Error ? err.message : String(err);
    this.#deps.progress({ type: "warning", message: `ignoring ${bad.length} bad cached layer(s) (${bad.join(", ")}); running their steps again (${why})`, time: Date.now() });
    return true;
  }

  /** The image config with the inline cache added when `--cache-to type=inline` was given. */
  async imageConfig(image: ImageConfig, state: BuildCacheState, compression: Compression): Promise<ImageConfig> {
    if (!this.#to.some((t) => t.type === "inline")) return image;
    const value = await inlineCacheValue(state, compression, { refs: this.#deps.refs, signal: this.#deps.signal });
    return { ...image, [INLINE_CACHE_FIELD]: value } as ImageConfig;
  }

  /** Run every registry/local export concurrently. `ignore-error=true` exports fail with a warning only. */
  async export(state: BuildCacheState): Promise<void> {
    const { refs, store, registry, cacheMountsDir, progress, signal } = this.#deps;
    const deps = { refs, store, registry: () => registry, imports: this.#imports, cacheMountsDir, progress, signal };
    await Promise.all(this.#to.map(async (spec) => {
      if (spec.type === "inline") return;
      const name = `exporting cache to ${spec.type === "registry" ? spec.ref : spec.dest}`;
      const digest = `tsbuild.cache-export ${name}`;
      progress({ type: "vertex.started", vertex: { digest, name }, time: Date.now() });
      try {
        await exportCache(spec, state, deps);
        progress({ type: "vertex.done", digest, time: Date.now() });
      } catch (err) {
        progress({ type: "vertex.error", digest, error: (err as Error).message, time: Date.now() });
        if (!spec.ignoreError) throw err;
        progress({ type: "warning", message: (err as Error).message, time: Date.now() });
      }
    }));
  }
}


