/**
 * The snapshot room's contract: a containerd-style Snapshotter (prepare → mount → commit) and the data that
 * crosses into the layer writer (DiffSource) and out of it (LayerDescriptor).
 */
import type { BigIntStats } from "node:fs";
import type { Digest } from "../util/digest.js";

/** `active`: writable, from prepare(). `committed`: immutable, from commit(). `view`: read-only, from view(). */
export type SnapshotKind = "active" | "committed" | "view";

/** What the snapshotter knows about one snapshot. Plain readonly data. */
export interface SnapshotInfo {
  readonly key: string;
  readonly kind: SnapshotKind;
  /** Key of the committed parent snapshot, if any. */
  readonly parent: string | undefined;
  /** ISO 8601 creation time. */
  readonly created: string;
}

/** Which implementation is in use, and why (for `tsbuild info`/debug output). */
export interface SnapshotterReport {
  readonly driver: "overlay" | "copy";
  /** e.g. "overlayfs with userxattr" or "copy: overlay mount failed: …". */
  readonly reason: string;
}

/**
 * Where and how a layer can be applied into an active snapshot without mounting it.
 * `overlay`: `dir` is an overlay upperdir: whiteouts become 0/0 char devices, opaque dirs get `opaqueXattr`.
 * `flat`: `dir` is the whole tree: whiteouts delete.
 */
export type ApplyTarget =
  | {
      readonly mode: "overlay";
      readonly dir: string;
      readonly opaqueXattr: string;
      readonly whiteoutTemplate: string;
      /**
       * A read-only view of the merged parent, when there is one: parent directories a layer does not list are
       * copied up from it (with their metadata), and hardlinks to files that only exist below are copied up first.
       */
      readonly lower?: string;
    }
  | { readonly mode: "flat"; readonly dir: string };

/** One change of a layer, in layer order. Paths are relative, `/`-separated, without `./` or a trailing `/`. */
export type DiffEntry =
  | { readonly kind: "whiteout"; readonly path: string }
  /** The directory at `path` hides everything below it in lower layers (`.wh..wh..opq`). */
  | { readonly kind: "opaque"; readonly path: string }
  | { readonly kind: "entry"; readonly path: string; readonly stat: BigIntStats };

/** The changes of one snapshot relative to its parent, ready to be written as a layer tar. */
export interface DiffSource {
  /** Directory the entry paths are relative to (an upperdir, or a full tree for the copy driver). */
  readonly root: string;
  /** Ordered: a directory, then its opaque marker, then its whiteouts, then its children (sorted by name). */
  readonly entries: readonly DiffEntry[];
  /** Extended attributes per entry path (overlay.* and system.* never included). */
  readonly xattrs: ReadonlyMap<string, ReadonlyMap<string, Buffer>>;
}

/**
 * Copy-on-write filesystem snapshots. Keys are caller-chosen strings, unique per snapshotter root. Several
 * instances and processes may use one root at once; active snapshots and views belong to the process that made
 * them and are deleted once it is gone. Mounts belong to the calling process's mount namespace.
 */
export interface Snapshotter {
  /** Which driver is in use and why. */
  readonly report: SnapshotterReport;
  /** Create a writable snapshot on top of the committed `parent` (or empty). */
  prepare(key: string, parent?: string): Promise<SnapshotInfo>;
  /** Create a read-only snapshot of the committed `parent`. */
  view(key: string, parent: string): Promise<SnapshotInfo>;
  /**
   * Make the snapshot's filesystem visible and return its path (read-write for active, read-only for views).
   * For the overlay driver this mounts overlayfs in the calling process's mount namespace.
   */
  mount(key: string): Promise<string>;
  /** Undo mount(); a no-op when not mounted. */
  unmount(key: string): Promise<void>;
  /**
   * Freeze an active snapshot under `name` (default: the same key). Unmounts it first. When `name` exists, fails
   * with `TSB_SNAPSHOT_EXISTS` and leaves the active snapshot as it was (remove it): of several processes
   * committing the same name exactly one wins, so callers can dedupe work (e.g. layer unpacks) on it.
   */
  commit(key: string, name?: string): Promise<SnapshotInfo>;
  /** Delete a snapshot that no other snapshot uses as parent. */
  remove(key: string): Promise<void>;
  stat(key: string): Promise<SnapshotInfo>;
  list(): Promise<readonly SnapshotInfo[]>;
  /** The changes of a committed (or active, unmounted) snapshot relative to its parent: never a walk of the whole rootfs for overlay. */
  diff(key: string): Promise<DiffSource>;
  /**
   * Fill the upperdir of the active, unmounted snapshot `key` with hard links of committed snapshot `from`'s own
   * layer (`cp -a -l`: directories made anew with their metadata and xattrs, every other entry linked), then delete
   * `remove` (paths relative to the root) from it, so the lower layers show through there again. `from` must sit on
   * the same parent. Linked inodes are shared with `from`: callers must replace, never modify, files they write.
   * The copy driver fails with `TSB_SNAPSHOT_UNSUPPORTED`.
   */
  cloneLayer(key: string, from: string, remove?: readonly string[]): Promise<void>;
  /**
   * The directory holding committed snapshot `key`'s own layer (the overlay upperdir), to read and never write;
   * undefined when the driver keeps no such directory. Drivers without layer directories leave it out.
   */
  layerDir?(key: string): Promise<string | undefined>;
  /** Where applyLayer() may write into an active snapshot without mounting it. */
  applyTarget(key: string): Promise<ApplyTarget>;
  /** Unmount everything this instance mounted. */
  close(): Promise<void>;
}

/**
 * Layer compression. `gzip` uses libdeflate on all cores (native/deflate.c: independent 1 MiB gzip members, one
 * valid multi-member gzip file) when it builds, else pigz when installed, else Node's zlib; output is deterministic
 * for input + level + backend.
 */
export type Compression = "gzip" | "zstd" | "none";

/** Result of exporting a layer. */
export interface LayerDescriptor {
  /** sha256 of the uncompressed tar (goes into the image config's rootfs.diff_ids). */
  readonly diffId: Digest;
  /** sha256 of the blob as written (compressed). */
  readonly digest: Digest;
  /** Size in bytes of the blob as written. */
  readonly size: number;
  readonly mediaType: string;
  /** Size of the uncompressed tar. */
  readonly uncompressedSize: number;
}
