/**
 * Where tsbuild keeps its state, and the fixed layout inside that root. Every room that persists anything gets
 * its directory from `rootLayout()`, so one `--root` moves everything and all temp files share one filesystem.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Inputs of `resolveRoot`. Everything is optional; the defaults read the current process. */
export interface ResolveRootOptions {
  /** `--root` from the CLI or the API; wins over everything. */
  readonly root?: string | undefined;
  /** Environment to read `TSBUILD_ROOT`, `XDG_DATA_HOME` and `HOME` from. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Effective uid; 0 selects `/var/lib/tsbuild`. @default process.getuid() */
  readonly uid?: number;
  /**
   * The process's `/proc/self/uid_map`, consulted when the uid is 0: inside tsbuild's rootless session uid 0 is
   * the invoking user, whose root is the one under `$XDG_DATA_HOME`. @default read from /proc
   */
  readonly uidMap?: string | undefined;
}

/** The uid outside the user namespace that uid 0 maps to (0 in the initial namespace), from a uid_map text. */
export function outerUidOfRoot(uidMap: string): number | undefined {
  for (const line of uidMap.split("\n")) {
    const [inside, outside] = line.trim().split(/\s+/);
    if (inside === "0" && outside !== undefined && /^\d+$/.test(outside)) return Number(outside);
  }
  return undefined;
}

/**
 * The tsbuild root: `--root`, else `$TSBUILD_ROOT`, else `/var/lib/tsbuild` for root, else
 * `$XDG_DATA_HOME/tsbuild` (default `~/.local/share/tsbuild`). Always an absolute path.
 */
export function resolveRoot(opts: ResolveRootOptions = {}): string {
  const env = opts.env ?? process.env;
  if (opts.root) return resolve(opts.root);
  if (env.TSBUILD_ROOT) return resolve(env.TSBUILD_ROOT);
  let uid = opts.uid ?? process.getuid?.() ?? -1;
  if (uid === 0) {
    let map = opts.uidMap;
    if (map === undefined) {
      try {
        map = readFileSync("/proc/self/uid_map", "utf8");
      } catch {
        map = "";
      }
    }
    uid = outerUidOfRoot(map) ?? 0;
  }
  if (uid === 0) return "/var/lib/tsbuild";
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), ".local", "share");
  return resolve(dataHome, "tsbuild");
}

/** Absolute paths of everything inside a tsbuild root. See src/store/index.ts for who owns what. */
export interface RootLayout {
  readonly root: string;
  /** `blobs/sha256/<hex>`: immutable content, written only by ingest. */
  readonly blobs: string;
  /** `ingest/`: in-progress blob writes (`<pid>.<random>.<host>`), renamed into `blobs/` when verified. */
  readonly ingest: string;
  /** `images/`: the local image db (`db.json`). */
  readonly images: string;
  /** `leases/<id>.json`: content protected from GC while a lease lives. */
  readonly leases: string;
  /** `locks/<name>.lock`: cross-process lock files. */
  readonly locks: string;
  /** `snapshots/`: owned by the snapshot room. */
  readonly snapshots: string;
  /** `cache/`: build-cache records, owned by the cache room. */
  readonly cache: string;
  /** `tmp/`: scratch space on the same filesystem; name files with `tempName()` so stale ones can be reaped. */
  readonly tmp: string;
}

/** The layout of a root directory (pure; creates nothing). */
export function rootLayout(root: string): RootLayout {
  const r = resolve(root);
  return {
    root: r,
    blobs: join(r, "blobs", "sha256"),
    ingest: join(r, "ingest"),
    images: join(r, "images"),
    leases: join(r, "leases"),
    locks: join(r, "locks"),
    snapshots: join(r, "snapshots"),
    cache: join(r, "cache"),
    tmp: join(r, "tmp"),
  };
}
