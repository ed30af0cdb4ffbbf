/**
 * Writing images into the store: config + layer descriptors → canonical config and manifest blobs. Shared by
 * import, load and the exporter room. ImageID = sha256 of the config bytes.
 */
import type { ContentStore } from "../store/index.js";
import { canonicalJson } from "../util/canonical-json.js";
import type { Digest } from "../util/digest.js";
import { MediaType, type Descriptor, type ImageConfig, type Manifest } from "./types.js";

/** Which manifest family to write. */
export type ManifestFlavor = "oci" | "docker";

/** What `writeImage` produced. */
export interface WrittenImage {
  /** Descriptor of the manifest blob (name this with `ImageStore.putImage`). */
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  /** The image ID (config digest). */
  readonly imageId: Digest;
}

const TO_DOCKER: Readonly<Record<string, string>> = {
  [MediaType.ociLayerGzip]: MediaType.dockerLayerGzip,
  [MediaType.ociLayer]: "application/vnd.docker.image.rootfs.diff.tar",
};
const TO_OCI: Readonly<Record<string, string>> = {
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  "application/vnd.docker.image.rootfs.diff.tar": MediaType.ociLayer,
};

/** The layer media type in the other flavor (gzip and uncompressed have both; zstd stays OCI). */
export function layerMediaType(mediaType: string, flavor: ManifestFlavor): string {
  return (flavor === "docker" ? TO_DOCKER[mediaType] : TO_OCI[mediaType]) ?? mediaType;
}

/**
 * Store `config` and a manifest over `layers` (already in the store). Both are canonical JSON, so writing the same
 * image twice yields the same digests.
 */
export async function writeImage(
  store: ContentStore,
  image: { readonly config: ImageConfig; readonly layers: readonly Descriptor[]; readonly annotations?: Readonly<Record<string, string>> },
  opts: { readonly mediaTypes?: ManifestFlavor } = {},
): Promise<WrittenImage> {
  const flavor = opts.mediaTypes ?? "oci";
  const configBytes = Buffer.from(canonicalJson(image.config));
  const cfg = await store.putBytes(configBytes);
  const config: Descriptor = { mediaType: flavor === "oci" ? MediaType.ociConfig : MediaType.dockerConfig, digest: cfg.digest, size: cfg.size };
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: flavor === "oci" ? MediaType.ociManifest : MediaType.dockerManifest,
    config,
    layers: image.layers.map((l) => ({ mediaType: layerMediaType(l.mediaType, flavor), digest: l.digest, size: l.size })),
    ...(image.annotations && flavor === "oci" ? { annotations: image.annotations } : {}),
  };
  const man = await store.putBytes(canonicalJson(manifest));
  return { manifest: { mediaType: manifest.mediaType!, digest: man.digest, size: man.size }, config, imageId: cfg.digest };
}

/**
 * Store a manifest over an existing config blob (whose bytes must be kept as they are, e.g. when loading an
 * archive, so the image ID does not change) and layers already in the store.
 */
export async function writeManifest(
  store: ContentStore,
  config: Descriptor,
  layers: readonly Descriptor[],
  opts: { readonly mediaTypes?: ManifestFlavor } = {},
): Promise<Descriptor> {
  const flavor = opts.mediaTypes ?? "oci";
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: flavor === "oci" ? MediaType.ociManifest : MediaType.dockerManifest,
    config: { mediaType: flavor === "oci" ? MediaType.ociConfig : MediaType.dockerConfig, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: layerMediaType(l.mediaType, flavor), digest: l.digest, size: l.size })),
  };
  const man = await store.putBytes(canonicalJson(manifest));
  return { mediaType: manifest.mediaType!, digest: man.digest, size: man.size };
}
