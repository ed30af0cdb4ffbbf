/**
 * image: OCI/Docker image types, the local image db (names → manifests in the store), image writing, import of
 * rootfs tarballs, and OCI-layout / docker-archive save and load. It must not talk to registries (src/registry)
 * and stores content only through src/store.
 */
export { MediaType, type ContainerConfig, type Descriptor, type HealthConfig, type HistoryEntry, type ImageConfig, type Index, type Manifest, type Platform } from "./types.js";
export { ImageError, type ImageErrorCode } from "./errors.js";
export { ImageStore, normalizeImageName, openImageStore, type ImageRecord } from "./image-db.js";
export { hostPlatform, imageClosure, isIndexType, isManifestType, resolveImage, type ResolvedImage } from "./walk.js";
export { layerMediaType, writeImage, writeManifest, type ManifestFlavor, type WrittenImage } from "./write-image.js";
export { importRootfs, type ImportedImage, type ImportOptions } from "./import-rootfs.js";
export { writeDockerArchive, writeOciArchive, writeOciLayoutDir, type ExportImage } from "./archive-writers.js";
export { loadArchive, type LoadedImage } from "./load-archive.js";
export type { ArchiveLimits } from "./archive-staging.js";
export {
  InvalidReferenceError,
  isValidTag,
  parseReference,
  withDigest,
  withTag,
  type ImageReference,
  type ParseReferenceOptions,
} from "./reference.js";
