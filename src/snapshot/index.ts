/**
 * snapshot: copy-on-write filesystem snapshots (overlayfs, or a copy fallback) and OCI layers (diff → tar, tar → dir);
 * any number of tsbuild processes may share one root (db.ts: one flock'ed db, dead owners reaped). Never touches the
 * content store, registries or the build graph. mount, umount, xattrs and mknod go to one tsbuild-fsd co-process per
 * tsbuild process (native/fsd.c; Debian mount/attr/coreutils when it cannot be built); flock and zstd go through
 * Debian tools (perl-base, zstd), gzip through tsbuild-deflate (native/deflate.c on libdeflate) — both C programs
 * built with `cc` on first use: no native addon, no install scripts, one spawn per layer or process.
 */
export type {
  ApplyTarget, Compression, DiffEntry, DiffSource, LayerDescriptor, SnapshotInfo, SnapshotKind, Snapshotter, SnapshotterReport,
} from "./types.js";
export { createSnapshotter, probeOverlay, type OverlayProbe, type SnapshotterOptions } from "./probe.js";
export { OverlaySnapshotter, type OverlayOptions } from "./overlay.js";
export { CopySnapshotter } from "./copy.js";
export { SessionlessSnapshotter, NEEDS_SESSION } from "./sessionless.js";
export { exportLayer, writeLayerTar, type ExportOptions } from "./diff.js";
export { applyLayer, type ApplyOptions, type ApplyResult } from "./apply.js";
export { planSplice, writeSplicedLayer, type SplicePlan } from "./splice.js";
export { planDerivedSplice } from "./splice-derived.js";
export { LAYER_MEDIA_TYPES, createCompressor } from "./compress.js";
export { gzipBackendStatus, type CompressorBackends, type GzipBackendStatus } from "./compress.js";
export { LayerError, SnapshotError } from "./errors.js";
export { fsdStatus } from "./fsd.js";
export { lstatDir, type DirChild } from "./lstat-dir.js";
export { fsPath, sortedNames } from "./raw-names.js";
export { isPortableXattr, readXattrs, writeXattrs } from "./native.js";
