import { randomUUID } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { sha256, digestHex, type Digest } from "../util/digest.js";
import { LAYER_MEDIA_TYPES, applyLayer, createCompressor, exportLayer, planDerivedSplice, planSplice, writeSplicedLayer, type Compression, type Snapshotter, type SplicePlan } from "../snapshot/index.js";
import { readDerivedLayer, type DerivedLayer } from "./incremental.js";
import { deriveVariant, recordVariant, tempName, withLock, writeFileAtomic, type ContentStore, type DerivedVariant, type RootLayout } from "../store/index.js";
import type { ActiveRef, BlobFetcher, BuildRef, ExportedLayer, LayerBlob, RefLayer, RefView } from "./types.js";

export interface RefManagerOptions {
  readonly snapshotter: Snapshotter;
  readonly store: ContentStore;
  readonly layout: RootLayout;
}

export interface ExportLayerOptions {
  /** @default "gzip" */
  readonly compression?: Compression;
  readonly level?: number;
  /** Re-export layers whose stored blob uses another compression. @default false */
  readonly force?: boolean;
  readonly sourceDateEpoch?: number;
  readonly signal?: AbortSignal;
}

/** What is remembered about a built layer once exported: `cache/layers/<snapshot>.json`. */
interface LayerMeta {
  readonly diffId: Digest;
  readonly empty: boolean;
  readonly blobs: readonly LayerBlob[];
  /** When the layer was built (ISO 8601). */
  readonly created?: string;
  /** The SOURCE_DATE_EPOCH its blobs were written with (file times clamped to it); absent: none. */
  readonly epoch?: number;
}

/** ChainID(n) = sha256(ChainID(n-1) + " " + DiffID(n)), ChainID(0) = DiffID(0) (OCI image-spec). */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}

/** Options of {@link RefManager.prepare}. */
export interface PrepareOptions {
  /** Start from a hard-link clone of this committed layer of the same base, minus `remove` (incremental COPY). */
  readonly clone?: { readonly from: string; readonly remove: readonly string[] } | undefined;
}

/**
 * Turns refs into mounted directories and back: unpacks base-image layers into snapshots on first use (once per
 * ChainID, shared by every build of the root), prepares writable layers on top of a ref, and exports a ref's
 * layers as blobs (each at most once per compression; base-image blobs are reused, never recompressed — except
 * uncompressed blobs asked for gzip/zstd, which are compressed from the stored tar and remembered in the store).
 */
export class RefManager {
  readonly #snap: Snapshotter;
  readonly #store: ContentStore;
  readonly #layout: RootLayout;
  readonly #metaDir: string;
  readonly #exists = new Map<string, Promise<boolean>>();
  readonly #fetchers: BlobFetcher[] = [];
  readonly #exporting = new Map<string, Promise<ExportedLayer>>();
  readonly #compressing = new Map<string, Promise<LayerBlob>>();

  constructor(opts: RefManagerOptions) {
    this.#snap = opts.snapshotter;
    this.#store = opts.store;
    this.#layout = opts.layout;
    this.#metaDir = join(opts.layout.cache, "layers");
  }

  /** A ref for a base image's layers (bottom first). Nothing is unpacked until the ref is mounted. */
  fromImage(layers: readonly { readonly diffId: Digest; readonly blob: LayerBlob }[]): BuildRef {
    const ids = chainIds(layers.map((l) => l.diffId));
    return { layers: layers.map((l, i) => ({ snapshot: `chain-${digestHex(ids[i]!)}`, diffId: l.diffId, blob: l.blob })) };
  }

  /** Whether every layer can be had: its snapshot exists or its blob is in the store. */
  async available(ref: BuildRef): Promise<boolean> {
    for (const l of ref.layers) {
      if (await this.#snapshotExists(l.snapshot)) continue;
      if (l.blob && l.diffId && (await this.#store.has(l.blob.digest))) continue;
      return false;
    }
    return true;
  }

  /**
   * Add a source of layer blobs missing from the store (a remote build cache). Fetchers are asked in order when a
   * layer must be unpacked or exported and its blob is not in the store.
   */
  addBlobFetcher(fetcher: BlobFetcher): void {
    this.#fetchers.push(fetcher);
  }

  /** Make sure every layer blob the ref names is in the store (fetching missing ones), e.g. before an export. */
  async ensureBlobs(ref: BuildRef, signal?: AbortSignal): Promise<void> {
    await Promise.all(ref.layers.map(async (l) => {
      if (l.blob && l.diffId && !(await this.#store.has(l.blob.digest))) await this.#fetch(l.blob, signal);
    }));
  }

  async #fetch(blob: LayerBlob, signal?: AbortSignal): Promise<boolean> {
    for (const f of this.#fetchers) {
      signal?.throwIfAborted();
      if (await f(blob, signal)) return true;
    }
    return false;
  }

  /** Make sure every layer's snapshot exists; returns the top snapshot key, or undefined for scratch. */
  async materialize(ref: BuildRef, signal?: AbortSignal): Promise<string | undefined> {
    let parent: string | undefined;
    for (const layer of ref.layers) {
      signal?.throwIfAborted();
      if (!(await this.#snapshotExists(layer.snapshot))) await this.#unpack(layer, parent, signal);
      parent = layer.snapshot;
    }
    return parent;
  }

  /** A read-only mounted view of the ref. */
  async view(ref: BuildRef, signal?: AbortSignal): Promise<RefView> {
    const top = await this.materialize(ref, signal);
    if (top === undefined) {
      await mkdir(this.#layout.tmp, { recursive: true });
      // Named by tempName: a killed build's empty view is reaped by the next build.
      const path = join(this.#layout.tmp, tempName());
      await mkdir(path, { mode: 0o755 });
      return { path, release: () => rm(path, { recursive: true, force: true }) };
    }
    const key = `view-${randomUUID()}`;
    await this.#snap.view(key, top);
    try {
      const path = await this.#snap.mount(key);
      return { path, release: () => this.#snap.remove(key) };
    } catch (err) {
      await this.#snap.remove(key).catch(() => {});
      throw err;
    }
  }

  /**
   * A writable snapshot on top of the ref, mounted. With `clone`, the new layer starts as a hard-link clone of the
   * committed layer `clone.from` (made on the same ref) with `clone.remove` deleted from it; that fails (leaving
   * nothing behind) when `from` is gone, sits on another base, or the driver cannot clone.
   */
  async prepare(ref: BuildRef, signal?: AbortSignal, opts: PrepareOptions = {}): Promise<ActiveRef> {
    const top = await this.materialize(ref, signal);
    // Through materialize: a leased manager then protects the clone source from a concurrent prune too.
    if (opts.clone) await this.materialize({ layers: [...ref.layers, { snapshot: opts.clone.from }] }, signal);
    const key = `active-${randomUUID()}`;
    await this.#snap.prepare(key, top);
    let path: string;
    try {
      if (opts.clone) await this.#snap.cloneLayer(key, opts.clone.from, opts.clone.remove);
      path = await this.#snap.mount(key);
    } catch (err) {
      await this.#snap.remove(key).catch(() => {});
      throw err;
    }
    let settled = false;
    return {
      path,
      commit: async () => {
        if (settled) throw new TypeError("ActiveRef already committed or discarded");
        settled = true;
        const name = `layer-${randomUUID()}`;
        await this.#snap.commit(key, name);
        this.#exists.set(name, Promise.resolve(true));
        return { layers: [...ref.layers, { snapshot: name, created: new Date().toISOString() }] };
      },
      discard: async () => {
        if (settled) return;
        settled = true;
        await this.#snap.remove(key);
      },
    };
  }

  /**
   * The blob of layer `index` of `ref`: the base image's blob as it is, a blob exported earlier, or the snapshot's
   * diff exported now (and remembered).
   */
  async exportLayer(ref: BuildRef, index: number, opts: ExportLayerOptions = {}): Promise<ExportedLayer> {
    const layer = ref.layers[index];
    if (!layer) throw new RangeError(`layer ${index} out of range (ref has ${ref.layers.length})`);
    const compression = opts.compression ?? "gzip";
    if (layer.blob && layer.diffId && !opts.force) {
      const at = layer.created !== undefined ? { created: layer.created } : {};
      // A compressed output never carries an uncompressed layer because its base came from the local store.
      if (compression !== "none" && mediaTypeCompression(layer.blob.mediaType) === "none") {
        const blob = await this.#compress(layer.blob, compression, opts);
        return { diffId: layer.diffId, blob, empty: layer.empty ?? false, ...at };
      }
      return { diffId: layer.diffId, blob: layer.blob, empty: layer.empty ?? false, ...at };
    }
    // The image and the cache exporters may ask for the same layer at once: diff and compress it once.
    const id = JSON.stringify([layer.snapshot, compression, opts.level, opts.force === true, opts.sourceDateEpoch]);
    let p = this.#exporting.get(id);
    if (!p) {
      p = this.#exportLayer(layer, compression, opts).finally(() => this.#exporting.delete(id));
      this.#exporting.set(id, p);
    }
    return p;
  }

  async #exportLayer(layer: RefLayer, compression: Compression, opts: ExportLayerOptions): Promise<ExportedLayer> {
    const at = (created: string | undefined): { created?: string } => (created !== undefined ? { created } : {});
    const stored = await this.#readMeta(layer.snapshot);
    // Blobs written under another SOURCE_DATE_EPOCH hold other file times: they are not this export's.
    const meta = stored?.epoch === opts.sourceDateEpoch ? stored : undefined;
    const created = layer.created ?? stored?.created;
    if (meta) {
      const present: LayerBlob[] = [];
      for (const b of meta.blobs) if (await this.#store.has(b.digest)) present.push(b);
      const exact = present.find((b) => mediaTypeCompression(b.mediaType) === compression);
      if (exact) return { diffId: meta.diffId, blob: exact, empty: meta.empty, ...at(created) };
      // Compressing the stored tar gives the very bytes a fresh export would, without walking the snapshot again.
      const plain = present.find((b) => mediaTypeCompression(b.mediaType) === "none");
      if (plain && compression !== "none") {
        const blob = await this.#compress(plain, compression, opts);
        await this.#writeMeta(layer.snapshot, { ...meta, blobs: [...meta.blobs.filter((b) => b.digest !== blob.digest), blob], ...at(created) });
        return { diffId: meta.diffId, blob, empty: meta.empty, ...at(created) };
      }
      if (!opts.force && present[0]) return { diffId: meta.diffId, blob: present[0], empty: meta.empty, ...at(created) };
    }
    if (!(await this.#snapshotExists(layer.snapshot))) {
      if (layer.blob && layer.diffId) {
        const blob = compression !== "none" && mediaTypeCompression(layer.blob.mediaType) === "none" ? await this.#compress(layer.blob, compression, opts) : layer.blob;
        return { diffId: layer.diffId, blob, empty: layer.empty ?? false, ...at(created) };
      }
      throw new TsbuildError("TSB_CACHE_LAYER_MISSING", `layer snapshot ${layer.snapshot} is gone and was never exported`, {
        hint: "the build cache was pruned while in use; rebuild with --no-cache",
      });
    }
    // A layer cloned from an exported one: splice that tar without walking the layer; else walk (and maybe splice).
    const from = await this.#cloneSource(layer.snapshot);
    let plan = from && (await this.#derivedSplice(layer.snapshot, from, opts));
    const diff = plan ? undefined : await this.#snap.diff(layer.snapshot);
    if (diff && from) plan = planSplice(diff, this.#store.path(from.plain.digest), new Set(from.derived.changed), { sourceDateEpoch: opts.sourceDateEpoch });
    const writer = await this.#store.writer();
    let desc;
    try {
      const eo = { compression, level: opts.level, sourceDateEpoch: opts.sourceDateEpoch, signal: opts.signal };
      desc = plan ? await writeSplicedLayer(plan, writer.stream, eo) : await exportLayer(diff!, writer.stream, eo);
      await writer.commit({ digest: desc.digest, size: desc.size });
    } catch (err) {
      await writer.abort();
      throw err;
    }
    const blob: LayerBlob = { digest: desc.digest, size: desc.size, mediaType: desc.mediaType };
    const empty = (plan?.copied ?? 0) === 0 && (plan?.source ?? diff!).entries.length === 0;
    const blobs = [blob, ...(meta?.blobs ?? []).filter((b) => b.digest !== blob.digest)];
    const epoch = opts.sourceDateEpoch !== undefined ? { epoch: opts.sourceDateEpoch } : {};
    await this.#writeMeta(layer.snapshot, { diffId: desc.diffId, empty, blobs, ...at(created), ...epoch });
    // A later push of an image holding this layer uncompressed finds its compressed blob here.
    if (compression !== "none") {
      await recordVariant(this.#store, desc.diffId, layerVariantName(compression, opts.level), blob.digest);
    }
    return { diffId: desc.diffId, blob, empty, ...at(created) };
  }

  /**
   * For a layer cloned from another (incremental.ts): what was written and removed since the clone, and the other
   * layer's stored uncompressed tar with the SOURCE_DATE_EPOCH it was written with; undefined for any other layer.
   */
  async #cloneSource(snapshot: string): Promise<{ derived: DerivedLayer; plain: LayerBlob; epoch: number | undefined } | undefined> {
    const derived = await readDerivedLayer(this.#layout, snapshot);
    const meta = derived && (await this.#readMeta(derived.from));
    const plain = meta?.blobs.find((b) => mediaTypeCompression(b.mediaType) === "none");
    if (!derived || !plain || !(await this.#store.has(plain.digest))) return undefined;
    return { derived, plain, epoch: meta!.epoch };
  }

  /**
   * The splice of a cloned layer planned from what was written and removed since the clone, without a walk: needs
   * the other layer's tar written under the same SOURCE_DATE_EPOCH (its copied entries keep their times).
   */
  async #derivedSplice(snapshot: string, from: { derived: DerivedLayer; plain: LayerBlob; epoch: number | undefined }, opts: ExportLayerOptions): Promise<SplicePlan | undefined> {
    const { derived, plain, epoch } = from;
    if (!this.#snap.layerDir || !derived.removed || epoch !== opts.sourceDateEpoch) return undefined;
    const dir = await this.#snap.layerDir(snapshot);
    return dir === undefined ? undefined : planDerivedSplice(dir, this.#store.path(plain.digest), new Set(derived.changed), derived.removed);
  }

  /** The `compression` blob of an uncompressed layer blob (fetched first if a shared cache has it). Deduped. */
  #compress(plain: LayerBlob, compression: Compression, opts: ExportLayerOptions): Promise<LayerBlob> {
    const id = JSON.stringify(["compress", plain.digest, compression, opts.level]);
    let p = this.#compressing.get(id);
    if (!p) {
      p = (async () => {
        if (!(await this.#store.has(plain.digest)) && !(await this.#fetch(plain, opts.signal))) {
          throw new TsbuildError("TSB_CACHE_LAYER_MISSING", `layer blob ${plain.digest} is not in the store`, {
            hint: "the build cache was pruned while in use; rebuild with --no-cache",
          });
        }
        const c = await compressLayerBlob(this.#store, plain.digest, compression, opts);
        return { digest: c.digest, size: c.size, mediaType: c.mediaType };
      })().finally(() => this.#compressing.delete(id));
      this.#compressing.set(id, p);
    }
    return p;
  }

  async #unpack(layer: RefLayer, parent: string | undefined, signal?: AbortSignal): Promise<void> {
    const blob = layer.blob;
    if (!blob || !layer.diffId || (!(await this.#store.has(blob.digest)) && !(await this.#fetch(blob, signal)))) {
      throw new TsbuildError("TSB_CACHE_LAYER_MISSING", `layer snapshot ${layer.snapshot} is gone and its blob is not in the store`, {
        hint: "the build cache was pruned while in use; rebuild with --no-cache",
      });
    }
    await withLock(this.#layout, `unpack-${layer.snapshot}`, async () => {
      this.#exists.delete(layer.snapshot);
      if (await this.#snapshotExists(layer.snapshot)) return;
      const tmp = `unpack-${randomUUID()}`;
      await this.#snap.prepare(tmp, parent);
      try {
        await applyLayer(this.#store.path(blob.digest), await this.#snap.applyTarget(tmp), { signal });
        await this.#snap.commit(tmp, layer.snapshot);
      } catch (err) {
        await this.#snap.remove(tmp).catch(() => {});
        throw err;
      }
      this.#exists.set(layer.snapshot, Promise.resolve(true));
    }, { signal });
  }

  #snapshotExists(key: string): Promise<boolean> {
    let p = this.#exists.get(key);
    if (!p) {
      p = this.#snap.stat(key).then(
        (info) => info.kind === "committed",
        () => false,
      );
      // Only positive answers are stable; a missing snapshot may be created by another process.
      p.then((ok) => ok || this.#exists.delete(key));
      this.#exists.set(key, p);
    }
    return p;
  }

  async #readMeta(snapshot: string): Promise<LayerMeta | undefined> {
    try {
      const m = JSON.parse(await readFile(join(this.#metaDir, `${snapshot}.json`), "utf8")) as LayerMeta;
      return m && typeof m.diffId === "string" && Array.isArray(m.blobs) ? m : undefined;
    } catch {
      return undefined;
    }
  }

  async #writeMeta(snapshot: string, meta: LayerMeta): Promise<void> {
    await mkdir(this.#metaDir, { recursive: true });
    await writeFileAtomic(join(this.#metaDir, `${snapshot}.json`), JSON.stringify(meta));
  }
}

const DEFAULT_LEVELS: Readonly<Record<Compression, number | undefined>> = { gzip: 6, zstd: 3, none: undefined };

/** The store's variant name of a compressed layer: `gzip`, `zstd`, or with a non-default level `gzip-9`. */
export function layerVariantName(compression: Compression, level?: number): string {
  return level === undefined || level === DEFAULT_LEVELS[compression] ? compression : `${compression}-${level}`;
}

/**
 * Compress the stored uncompressed layer blob `plain` (a tar) with the layer compressor — the same bytes an export
 * of that tar with `compression` writes — unless the store remembers doing so already (`variants/`). The source is
 * re-verified while it streams; the result is ingested like any blob.
 */
export async function compressLayerBlob(
  store: ContentStore, plain: Digest, compression: Compression,
  opts: { readonly level?: number | undefined; readonly signal?: AbortSignal | undefined } = {},
): Promise<LayerBlob & Pick<DerivedVariant, "created">> {
  if (compression === "none") throw new RangeError("compressLayerBlob needs gzip or zstd");
  const v = await deriveVariant(store, plain, layerVariantName(compression, opts.level), () => createCompressor(compression, opts.level), { signal: opts.signal });
  return { digest: v.digest, size: v.size, mediaType: LAYER_MEDIA_TYPES[compression], created: v.created };
}

export function mediaTypeCompression(mediaType: string): Compression {
  if (mediaType.endsWith("+zstd") || mediaType.endsWith(".zstd")) return "zstd";
  if (mediaType.endsWith("gzip")) return "gzip";
  return "none";
}
