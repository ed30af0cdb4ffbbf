/**
 * snapshot: copy-on-write filesystem snapshots (overlayfs, or a copy fallback) and OCI layers (diff → tar, tar → dir).
 * Never touches the content store, registries or the build graph; takes directories and streams as arguments.
 * xattrs, mknod and mount go through Debian tools (attr, coreutils, mount) in batches — one getfattr per layer export,
 * one setfattr per layer apply — instead of a native addon: no compile step, no install scripts, one spawn per layer.
 */
export type {
  ApplyTarget, Compression, DiffEntry, DiffSource, LayerDescriptor, SnapshotInfo, SnapshotKind, Snapshotter, SnapshotterReport,
} from "./types.js";
export { createSnapshotter, probeOverlay, type OverlayProbe, type SnapshotterOptions } from "./probe.js";
export { OverlaySnapshotter, type OverlayOptions } from "./overlay.js";
export { CopySnapshotter } from "./copy.js";
export { exportLayer, writeLayerTar, type ExportOptions } from "./diff.js";
export { applyLayer, type ApplyOptions, type ApplyResult } from "./apply.js";
export { LAYER_MEDIA_TYPES } from "./compress.js";
export { LayerError, SnapshotError } from "./errors.js";
