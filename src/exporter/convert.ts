/**
 * Compressing a stored image before it leaves the machine: images built with `-t` keep their layers uncompressed
 * in the local store; a push needs gzip (or zstd) layers. Each uncompressed layer blob is compressed into the store
 * once (remembered in the store's `variants/`, so a second push compresses nothing), and a manifest identical but
 * for those layer descriptors is written — byte for byte the manifest a build exporting gzip directly writes.
 */
import { compressLayerBlob } from "../cache/index.js";
import { UsageError } from "../errors.js";
import { MediaType, isIndexType, isManifestType, type Descriptor } from "../image/index.js";
import { LAYER_MEDIA_TYPES } from "../snapshot/index.js";
import type { ContentStore } from "../store/index.js";
import type { Digest } from "../util/digest.js";
import { ExportError } from "./errors.js";
import { goJson } from "./go-json.js";

/** The uncompressed layer media types (OCI and Docker); anything else is left as it is. */
const PLAIN_LAYERS: ReadonlySet<string> = new Set([MediaType.ociLayer, "application/vnd.docker.image.rootfs.diff.tar"]);

/** Options of {@link compressImage}. */
export interface CompressImageOptions {
  /** @default "gzip" */
  readonly compression?: "gzip" | "zstd" | undefined;
  /** gzip 1–9, zstd 1–19; the compressor's default when absent. */
  readonly level?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Called once per uncompressed layer: its digest, the compressed blob, and whether it was compressed now. */
  readonly onLayer?: ((e: { readonly digest: Digest; readonly compressed: Digest; readonly created: boolean }) => void) | undefined;
}

/** What {@link compressImage} produced. */
export interface CompressedImage {
  /** The image to push: `target` itself when nothing was uncompressed. */
  readonly target: Descriptor;
  /** Uncompressed layers replaced (over every manifest). */
  readonly layers: number;
  /** Of those, how many were compressed now (the rest were remembered from an earlier push or export). */
  readonly compressedNow: number;
}

interface Counts {
  layers: number;
  compressedNow: number;
}

/** Manifests written by tsbuild's image writer are indented (Go's MarshalIndent); keep the stored form. */
function serialize(obj: unknown, original: Buffer): Buffer {
  return Buffer.from(goJson(obj, original.includes("\n  ") ? 2 : 0));
}

async function convertManifest(store: ContentStore, desc: Descriptor, opts: CompressImageOptions, counts: Counts): Promise<Descriptor> {
  const compression = opts.compression ?? "gzip";
  const bytes = await store.readBytes(desc.digest);
  const manifest = JSON.parse(bytes.toString("utf8")) as { mediaType?: string; layers?: Descriptor[] };
  const layers = manifest.layers ?? [];
  if (!layers.some((l) => PLAIN_LAYERS.has(l.mediaType))) return desc;
  const docker = (manifest.mediaType ?? desc.mediaType) === MediaType.dockerManifest;
  if (docker && compression === "zstd") {
    throw new UsageError(`image ${desc.digest} has Docker media types, which cannot describe zstd layers`, { hint: "push with --compression gzip" });
  }
  const out: Descriptor[] = [];
  for (const layer of layers) {
    opts.signal?.throwIfAborted();
    if (!PLAIN_LAYERS.has(layer.mediaType)) {
      out.push(layer);
      continue;
    }
    if (!(await store.has(layer.digest))) {
      throw new ExportError("TSB_EXPORT_LAYER_MISSING", `layer ${layer.digest} of image ${desc.digest} is not in the store`, {
        hint: "run 'tsbuild doctor', then rebuild or pull the image again",
      });
    }
    const c = await compressLayerBlob(store, layer.digest, compression, { level: opts.level, signal: opts.signal });
    counts.layers++;
    if (c.created) counts.compressedNow++;
    opts.onLayer?.({ digest: layer.digest, compressed: c.digest, created: c.created });
    const mediaType = docker ? MediaType.dockerLayerGzip : LAYER_MEDIA_TYPES[compression];
    // Spread first: the descriptor keeps its key order and annotations, so the manifest hashes as a direct export.
    out.push({ ...layer, mediaType, digest: c.digest, size: c.size });
  }
  const written = await store.putBytes(serialize({ ...manifest, layers: out }, bytes));
  return { ...desc, digest: written.digest, size: written.size };
}

async function convert(store: ContentStore, desc: Descriptor, opts: CompressImageOptions, counts: Counts): Promise<Descriptor> {
  if (isManifestType(desc.mediaType)) return convertManifest(store, desc, opts, counts);
  if (!isIndexType(desc.mediaType)) return desc;
  const bytes = await store.readBytes(desc.digest);
  const index = JSON.parse(bytes.toString("utf8")) as { manifests?: Descriptor[] };
  let changed = false;
  const manifests: Descriptor[] = [];
  for (const m of index.manifests ?? []) {
    // Children of an index that are not stored (other platforms of a pulled image) are pushed as they are.
    const next = (isManifestType(m.mediaType) || isIndexType(m.mediaType)) && (await store.has(m.digest)) ? await convert(store, m, opts, counts) : m;
    if (next.digest !== m.digest) changed = true;
    manifests.push(next.digest === m.digest ? m : { ...m, digest: next.digest, size: next.size });
  }
  if (!changed) return desc;
  const written = await store.putBytes(serialize({ ...index, manifests }, bytes));
  return { ...desc, digest: written.digest, size: written.size };
}

/**
 * The stored image `target` (manifest or index) with every uncompressed layer compressed: new manifest (and index)
 * blobs in the store whose config and other fields are unchanged. The stored image itself is left as it is.
 */
export async function compressImage(store: ContentStore, target: Descriptor, opts: CompressImageOptions = {}): Promise<CompressedImage> {
  const counts: Counts = { layers: 0, compressedNow: 0 };
  const out = await convert(store, target, opts, counts);
  return { target: out, ...counts };
}
