/**
 * A snapshotter for a process outside tsbuild's session (a build trying the fully cached path first): it reads the
 * snapshot records (stat, list) but refuses everything that mounts, writes or diffs snapshots, so the caller can
 * stop and continue as session root. It never probes overlayfs.
 */
import { SnapshotError } from "./errors.js";
import { OverlaySnapshotter } from "./overlay.js";
import type { ApplyTarget, DiffSource, SnapshotInfo, Snapshotter, SnapshotterReport } from "./types.js";

/** The error code of every refused operation. */
export const NEEDS_SESSION = "TSB_SNAPSHOT_NEEDS_SESSION";

/** Records-only snapshotter of `root` (see the module comment). */
export class SessionlessSnapshotter implements Snapshotter {
  readonly report: SnapshotterReport = { driver: "overlay", reason: "records only (outside the session)" };
  // Only stat/list/close are forwarded; they read the db and never mount (the userxattr choice is irrelevant).
  readonly #records: OverlaySnapshotter;

  constructor(root: string) {
    this.#records = new OverlaySnapshotter(root, { userxattr: false });
  }

  stat(key: string): Promise<SnapshotInfo> {
    return this.#records.stat(key);
  }

  list(): Promise<readonly SnapshotInfo[]> {
    return this.#records.list();
  }

  close(): Promise<void> {
    return this.#records.close();
  }

  prepare(key: string): Promise<SnapshotInfo> {
    return refuse("prepare", key);
  }

  view(key: string): Promise<SnapshotInfo> {
    return refuse("view", key);
  }

  mount(key: string): Promise<string> {
    return refuse("mount", key);
  }

  unmount(key: string): Promise<void> {
    return refuse("unmount", key);
  }

  commit(key: string): Promise<SnapshotInfo> {
    return refuse("commit", key);
  }

  remove(key: string): Promise<void> {
    return refuse("remove", key);
  }

  diff(key: string): Promise<DiffSource> {
    return refuse("diff", key);
  }

  cloneLayer(key: string): Promise<void> {
    return refuse("clone into", key);
  }

  applyTarget(key: string): Promise<ApplyTarget> {
    return refuse("apply layers into", key);
  }
}

function refuse(what: string, key: string): Promise<never> {
  return Promise.reject(
    new SnapshotError(NEEDS_SESSION, `cannot ${what} snapshot ${key} outside tsbuild's session`, "run the build through the tsbuild CLI, which enters the session when a step must run"),
  );
}
