/**
 * The image writer: a build result (ref) + the frontend's image config → layer blobs, config and manifest in the
 * content store (BuildKit's exporter/containerimage ImageWriter.Commit for one platform). Config and manifest are
 * written as Go's encoding/json writes them (top-level config keys sorted, nested order kept as given, manifest
 * indented by two spaces), so the same image gets the same digests as with BuildKit.
 */
import type { BuildRef, ExportedLayer, RefManager } from "../cache/index.js";
import { mediaTypeCompression } from "../cache/index.js";
import { UsageError } from "../errors.js";
import { MediaType, layerMediaType, type Descriptor, type HistoryEntry, type ImageConfig, type ManifestFlavor } from "../image/index.js";
import type { Compression } from "../snapshot/index.js";
import type { ContentStore } from "../store/index.js";
import type { Digest } from "../util/digest.js";
import { ExportError } from "./errors.js";
import { ExportVertex, type ExportProgressOptions } from "./export-progress.js";
import { goJson } from "./go-json.js";
import { alignHistory, imageCreated } from "./history.js";

/** Options of {@link commitImage}. */
export interface CommitImageOptions extends ExportProgressOptions {
  /** The final stage's filesystem. */
  readonly ref: BuildRef;
  /** The image config from the frontend (env, cmd, history, …); `rootfs` and `created` are replaced. */
  readonly image: ImageConfig;
  /**
   * How many bottom layers of `ref` come from the base image: they are never dropped, and their blobs are reused
   * as they are. @default the number of `image.rootfs.diff_ids` (the frontend keeps the base image's), at most the
   * ref's layer count
   */
  readonly baseLayerCount?: number | undefined;
  /** The base image's history: under SOURCE_DATE_EPOCH, its leading identical entries keep their times. */
  readonly baseHistory?: readonly HistoryEntry[] | undefined;
  readonly refs: RefManager;
  readonly store: ContentStore;
  /** Layer compression for built layers. @default "gzip" */
  readonly compression?: Compression | undefined;
  /** gzip 1–9, zstd 1–19. */
  readonly level?: number | undefined;
  /** Re-compress layers (base-image ones too, when their snapshot exists) stored with another compression. @default false */
  readonly force?: boolean | undefined;
  /** SOURCE_DATE_EPOCH (Unix seconds): config and history times after it are clamped to it. */
  readonly sourceDateEpoch?: number | undefined;
  /** Also clamp file mtimes in built layers to `sourceDateEpoch` (BuildKit's `rewrite-timestamp`). @default false */
  readonly rewriteTimestamp?: boolean | undefined;
  /** Manifest and layer media types. zstd layers need "oci". @default "oci" */
  readonly mediaTypes?: ManifestFlavor | undefined;
  /** Manifest annotations (OCI media types only). */
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  /** Annotations of the returned manifest descriptor (index.json of OCI layouts, metadata file). */
  readonly descriptorAnnotations?: Readonly<Record<string, string>> | undefined;
  /** Labels added to (and overriding) the config's `Labels`. */
  readonly labels?: Readonly<Record<string, string>> | undefined;
  /** Keep built layers that have no changes (BuildKit's behaviour is to keep them; tsbuild drops them). @default false */
  readonly keepEmptyLayers?: boolean | undefined;
  /** Layers exported at once. @default 2 */
  readonly concurrency?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * Time of layers that carry no build time (config/history `created` falls back to it without SOURCE_DATE_EPOCH;
   * built layers use the time their step ran). @default new Date()
   */
  readonly now?: Date | undefined;
}

/** One layer of the written image. */
export interface CommittedLayer {
  /** The layer as the manifest lists it (media type of the chosen flavor). */
  readonly descriptor: Descriptor;
  readonly diffId: Digest;
}

/** What {@link commitImage} wrote to the store. */
export interface CommittedImage {
  /** The manifest (push it, name it, or put it in an archive); `annotations` are the descriptor annotations. */
  readonly manifest: Descriptor;
  /** The config; its digest is the image ID. */
  readonly config: Descriptor;
  readonly configBytes: Buffer;
  readonly manifestBytes: Buffer;
  /** Layers kept, bottom first. */
  readonly layers: readonly CommittedLayer[];
  /** The config as written. */
  readonly imageConfig: ImageConfig;
}

/** Run `fn` over 0..n-1 with at most `limit` at once; results in index order. */
async function mapLimit<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, n)) }, worker));
  return out;
}

/** The config object: top-level keys sorted (BuildKit re-marshals it as a Go map), nested objects as given. */
function buildConfig(image: ImageConfig, diffIds: readonly Digest[], history: readonly HistoryEntry[], created: string, labels?: Readonly<Record<string, string>>): ImageConfig {
  const top: Record<string, unknown> = { ...image, rootfs: { type: "layers", diff_ids: [...diffIds] }, history, created };
  if (labels && Object.keys(labels).length > 0) {
    const config = { ...(image.config ?? {}) } as Record<string, unknown>;
    config.Labels = { ...((config.Labels as Record<string, string> | undefined) ?? {}), ...labels };
    top.config = config;
  }
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(top).sort()) if (top[k] !== undefined) sorted[k] = top[k];
  return sorted as unknown as ImageConfig;
}

/**
 * Export the ref's layers (bounded concurrency, each blob at most once per compression), drop built layers without
 * changes, align history, and write config + manifest to the store.
 */
export async function commitImage(opts: CommitImageOptions): Promise<CommittedImage> {
  const flavor = opts.mediaTypes ?? "oci";
  const compression = opts.compression ?? "gzip";
  if (flavor === "docker" && compression === "zstd") {
    throw new UsageError('compression "zstd" needs OCI media types', { hint: "drop oci-mediatypes=false, or use compression=gzip" });
  }
  const { image, ref } = opts;
  if (!image.os || !image.architecture) {
    throw new ExportError("TSB_EXPORT_INVALID_CONFIG", `the image config has no ${image.os ? "architecture" : "os"}`, {
      hint: "the build produced an incomplete image config; report this as a bug",
    });
  }
  const vertex = new ExportVertex(opts, "exporting to image");
  return vertex.run(async () => {
    const total = ref.layers.length;
    const base = Math.min(opts.baseLayerCount ?? image.rootfs.diff_ids.length, total);
    let done = 0;
    vertex.step("exporting layers", 0, total);
    const exported = await mapLimit(total, opts.concurrency ?? 2, async (i): Promise<ExportedLayer> => {
      opts.signal?.throwIfAborted();
      const layerOpts = {
        compression,
        level: opts.level,
        force: opts.force ?? false,
        sourceDateEpoch: opts.rewriteTimestamp ? opts.sourceDateEpoch : undefined,
        signal: opts.signal,
      };
      let l = await opts.refs.exportLayer(ref, i, layerOpts);
      if (flavor === "docker" && mediaTypeCompression(l.blob.mediaType) === "zstd") {
        // Docker media types have no zstd layer: re-export as gzip (possible while the layer's snapshot exists).
        l = await opts.refs.exportLayer(ref, i, { ...layerOpts, compression: "gzip", force: true });
        if (mediaTypeCompression(l.blob.mediaType) === "zstd") {
          throw new UsageError(`layer ${i + 1} is a zstd blob, which Docker media types cannot describe`, { hint: "export with OCI media types (drop oci-mediatypes=false)" });
        }
      }
      vertex.step(`exporting layer ${l.blob.digest}`, 1, 1);
      vertex.step("exporting layers", ++done, total);
      return l;
    });
    const dropped = exported.map((l, i) => i >= base && l.empty && !opts.keepEmptyLayers);
    const kept = exported.filter((_, i) => !dropped[i]);

    const now = opts.now ?? new Date();
    const history = alignHistory(image.history ?? [], {
      dropped, now, layerCreated: exported.map((l) => l.created), sourceDateEpoch: opts.sourceDateEpoch, baseHistory: opts.baseHistory,
    });
    const created = imageCreated(image.created, history, now, opts.sourceDateEpoch);
    const imageConfig = buildConfig(image, kept.map((l) => l.diffId), history, created, opts.labels);
    const configBytes = Buffer.from(goJson(imageConfig));
    const cfg = await opts.store.putBytes(configBytes);
    const config: Descriptor = { mediaType: flavor === "oci" ? MediaType.ociConfig : MediaType.dockerConfig, digest: cfg.digest, size: cfg.size };
    vertex.step(`exporting config ${cfg.digest}`, 1, 1);

    const layers: CommittedLayer[] = kept.map((l) => ({
      descriptor: { mediaType: layerMediaType(l.blob.mediaType, flavor), digest: l.blob.digest, size: l.blob.size },
      diffId: l.diffId,
    }));
    const annotations = flavor === "oci" && opts.annotations && Object.keys(opts.annotations).length > 0 ? opts.annotations : undefined;
    const manifestObj = {
      schemaVersion: 2,
      mediaType: flavor === "oci" ? MediaType.ociManifest : MediaType.dockerManifest,
      config,
      layers: layers.map((l) => l.descriptor),
      ...(annotations ? { annotations } : {}),
    };
    const manifestBytes = Buffer.from(goJson(manifestObj, 2));
    const man = await opts.store.putBytes(manifestBytes);
    vertex.step(`exporting manifest ${man.digest}`, 1, 1);
    const descAnn = opts.descriptorAnnotations && Object.keys(opts.descriptorAnnotations).length > 0 ? opts.descriptorAnnotations : undefined;
    const manifest: Descriptor = { mediaType: manifestObj.mediaType, digest: man.digest, size: man.size, ...(descAnn ? { annotations: descAnn } : {}) };
    return { manifest, config, configBytes, manifestBytes, layers, imageConfig };
  });
}
