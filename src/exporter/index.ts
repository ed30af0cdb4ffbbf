/**
 * exporter: turns a build result (ref + image config) into outputs: image layers, config and manifest in the store
 * (BuildKit's image writer), OCI layouts, docker archives, local directories, filesystem tars, local image names and
 * registry pushes; parses buildx `-o` specs; writes --iidfile and --metadata-file. It must not run builds or touch
 * process state: streams, registries and stores are handed to it.
 */
export { commitImage, type CommitImageOptions, type CommittedImage, type CommittedLayer } from "./writer.js";
export { exportOutputs, type ExportOutputsOptions, type ExportResult, type OutputResult } from "./outputs.js";
export { defaultCompression, parseOutputSpec, parseOutputSpecs, type ImageOutputOptions, type OutputSpec } from "./output-spec.js";
export { compressImage, type CompressImageOptions, type CompressedImage } from "./convert.js";
export { copyTree, writeTreeTar, type FsOutputOptions } from "./local.js";
export { alignHistory, imageCreated, EXPORTER_HISTORY_COMMENT, type AlignHistoryOptions } from "./history.js";
export { buildMetadata, writeIidFile, writeMetadataFile, type ImageMetadataSource } from "./metadata.js";
export { ExportVertex, type ExportProgressOptions } from "./export-progress.js";
export { ExportError, type ExportErrorCode } from "./errors.js";
