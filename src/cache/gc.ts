/**
 * Garbage collection of the build cache: which cache records, snapshots, layer metadata and cache mounts a root
 * still needs, and removing the rest by a `docker builder prune`-like policy. Blobs stay the store's business: the
 * cache is a store root provider (the blobs of kept records and of kept snapshots' exported layers), and
 * `pruneBuildCache` runs the store's prune with it, so everything happens under the root's `gc` lock.
 *
 * A snapshot is kept when a kept record names it, when it is the base of a local image (`chain-<ChainID>` of the
 * image's diff_ids), when a live lease names it or a live build started before it was made, when it is active or a
 * view (in use by a process), when it is younger than the grace period (default policy only), or when it is the
 * parent of a kept snapshot. Removal goes children first.
 */
import { lstat, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Snapshotter, SnapshotInfo } from "../snapshot/index.js";
import { listLeases, prune, writeFileAtomic, type ContentStore, type PruneReport, type RootLayout, type RootProvider } from "../store/index.js";
import { digestHex, type Digest } from "../util/digest.js";
import { isLeaseOwnerAlive, liveBuildLeases, reapDeadLeases } from "./gc-lease.js";
import { chainIds } from "./refs.js";
import { listSorted, readJsonFile } from "./json-files.js";
import { pruneIncremental } from "./incremental.js";
import type { BuildRef } from "./types.js";

/** What the cache GC works on. */
export interface CacheGcOptions {
  readonly layout: RootLayout;
  readonly store: ContentStore;
  readonly snapshotter: Snapshotter;
  /** The diff_ids (bottom first) of every local image: their base snapshots are kept. */
  readonly imageDiffIds?: () => Promise<readonly (readonly Digest[])[]>;
}

/** A prune policy (the flags of `tsbuild prune`). */
export interface CachePrunePolicy {
  /** Drop every record and every snapshot no image or live lease needs, and the cache mounts. */
  readonly all?: boolean;
  /** Drop least-recently-used records until the snapshots take at most this many bytes. */
  readonly keepStorage?: number | undefined;
  /** Drop records not used for this long (ms), as `--filter until=DURATION`. */
  readonly unusedForMs?: number | undefined;
  /** Remove the persistent `RUN --mount=type=cache` directories (implied by `all`). */
  readonly cacheMounts?: boolean;
  /** Unreferenced snapshots younger than this are kept. @default 600000 (10 min); 0 with `all` */
  readonly graceMs?: number;
}

/** What a cache prune removed (or, from `plan`, would remove). */
export interface CachePruneReport {
  readonly records: readonly Digest[];
  readonly snapshots: readonly string[];
  readonly layerMeta: number;
  /** Incremental-COPY records and derived-layer notes removed with their snapshots. */
  readonly incremental?: number;
  readonly cacheMounts: readonly string[];
  /** Bytes of the removed snapshots and cache mounts. */
  readonly reclaimedBytes: number;
}

/** One snapshot as `du` shows it. */
export interface SnapshotUsage {
  readonly key: string;
  readonly parent: string | undefined;
  readonly kind: SnapshotInfo["kind"];
  readonly created: string;
  readonly bytes: number;
  /** Why it cannot be pruned now ("image", "lease", "in-use", "record", "parent"), or undefined when reclaimable. */
  readonly usedBy: string | undefined;
}

/** Build-cache disk usage by kind. */
export interface CacheUsage {
  readonly snapshots: readonly SnapshotUsage[];
  /** `bytes`: the snapshots records name (each once); `reclaimable`: those no image or live lease needs. */
  readonly records: { readonly count: number; readonly bytes: number; readonly reclaimable: number };
  readonly cacheMounts: { readonly count: number; readonly bytes: number; readonly inUse: boolean };
}

interface RecordEntry {
  readonly key: Digest;
  readonly file: string;
  readonly ref: BuildRef | undefined;
  /** Last use (the record file's mtime, touched on every cache hit). */
  readonly used: number;
}

interface Plan {
  readonly dropRecords: readonly RecordEntry[];
  readonly keptRecords: readonly RecordEntry[];
  readonly removeSnapshots: readonly SnapshotInfo[];
  readonly reasons: ReadonlyMap<string, string>;
  readonly all: readonly SnapshotInfo[];
  readonly sizes: ReadonlyMap<string, number>;
  readonly buildsRunning: boolean;
}

const DEFAULT_GRACE_MS = 600_000;

/** GC of one root's build cache. */
export class CacheGc {
  readonly #o: CacheGcOptions;
  readonly #recordsDir: string;
  readonly #metaDir: string;
  readonly #mountsDir: string;
  readonly #sizesFile: string;

  constructor(opts: CacheGcOptions) {
    this.#o = opts;
    this.#recordsDir = join(opts.layout.cache, "records");
    this.#metaDir = join(opts.layout.cache, "layers");
    this.#mountsDir = join(opts.layout.cache, "mounts");
    this.#sizesFile = join(opts.layout.cache, "gc-sizes.json");
  }

  /** The store root provider `kind: "cache"`: blobs of records and exported layers; prunes by `policy`. */
  rootProvider(policy: CachePrunePolicy = {}, report?: (r: CachePruneReport) => void): RootProvider {
    return {
      kind: "cache",
      roots: () => this.roots(),
      prune: async (opts) => {
        const r = await this.prune({ ...policy, all: policy.all ?? opts.all, keepStorage: policy.keepStorage ?? opts.keepStorage }, opts.leasedSnapshots);
        report?.(r);
      },
    };
  }

  /** Blobs the cache needs: layer blobs of every record, and the exported blobs of every existing snapshot. */
  async roots(): Promise<Set<Digest>> {
    const out = new Set<Digest>();
    for (const r of await this.#records()) for (const l of r.ref?.layers ?? []) if (l.blob) out.add(l.blob.digest);
    const keys = new Set((await this.#o.snapshotter.list()).map((s) => s.key));
    for (const name of await listSorted(this.#metaDir)) {
      if (!name.endsWith(".json") || !keys.has(name.slice(0, -5))) continue;
      const meta = await readJsonFile<{ blobs?: { digest?: Digest }[] }>(join(this.#metaDir, name));
      for (const b of meta?.blobs ?? []) if (typeof b.digest === "string") out.add(b.digest);
    }
    return out;
  }

  /** Remove what `policy` says (call under the store's gc lock, as `pruneBuildCache` does). */
  async prune(policy: CachePrunePolicy, leasedSnapshots: ReadonlySet<string> = new Set()): Promise<CachePruneReport> {
    const plan = await this.#plan(policy, leasedSnapshots);
    for (const r of plan.dropRecords) await rm(r.file, { force: true });
    const removed: string[] = [];
    let bytes = 0;
    for (const s of plan.removeSnapshots) {
      try {
        await this.#o.snapshotter.remove(s.key);
      } catch {
        continue; // another process started using it (a new child); it stays for the next prune
      }
      removed.push(s.key);
      bytes += plan.sizes.get(s.key) ?? 0;
    }
    const existing = new Set((await this.#o.snapshotter.list()).map((s) => s.key));
    let layerMeta = 0;
    for (const name of await listSorted(this.#metaDir)) {
      if (!name.endsWith(".json") || existing.has(name.slice(0, -5))) continue;
      await rm(join(this.#metaDir, name), { force: true });
      layerMeta++;
    }
    const incremental = await pruneIncremental(this.#o.layout, existing);
    await this.#saveSizes(plan.sizes, existing);
    const mounts: string[] = [];
    if ((policy.all || policy.cacheMounts) && !plan.buildsRunning) {
      for (const name of await listSorted(this.#mountsDir)) {
        bytes += await treeSize(join(this.#mountsDir, name));
        await rm(join(this.#mountsDir, name), { recursive: true, force: true });
        mounts.push(name);
      }
    }
    return { records: plan.dropRecords.map((r) => r.key), snapshots: removed, layerMeta, incremental, cacheMounts: mounts, reclaimedBytes: bytes };
  }

  /** Disk usage of the build cache; `reclaimable` snapshots are those `prune --all` would remove now. */
  async usage(): Promise<CacheUsage> {
    const leased = new Set<string>();
    for (const l of await listLeases(this.#o.layout)) if (l.expiresAt > Date.now() && isLeaseOwnerAlive(l)) for (const k of l.snapshots) leased.add(k);
    const plan = await this.#plan({ all: true }, leased, true);
    const records = await this.#records();
    // A record's size is that of the snapshots it names (each counted once); reclaimable unless pinned otherwise.
    const named = new Set(records.flatMap((r) => (r.ref?.layers ?? []).map((l) => l.snapshot)));
    let recordBytes = 0;
    let recordReclaimable = 0;
    for (const key of named) {
      const bytes = plan.sizes.get(key) ?? 0;
      recordBytes += bytes;
      if (plan.reasons.get(key) === undefined) recordReclaimable += bytes;
    }
    const mounts = await listSorted(this.#mountsDir);
    let mountBytes = 0;
    for (const m of mounts) mountBytes += await treeSize(join(this.#mountsDir, m));
    return {
      snapshots: plan.all.map((s) => ({ key: s.key, parent: s.parent, kind: s.kind, created: s.created, bytes: plan.sizes.get(s.key) ?? 0, usedBy: plan.reasons.get(s.key) })),
      records: { count: records.length, bytes: recordBytes, reclaimable: recordReclaimable },
      cacheMounts: { count: mounts.length, bytes: mountBytes, inUse: plan.buildsRunning },
    };
  }

  async #plan(policy: CachePrunePolicy, leasedSnapshots: ReadonlySet<string>, sizeAll = false): Promise<Plan> {
    const now = Date.now();
    const all = policy.all ?? false;
    const grace = policy.graceMs ?? (all ? 0 : DEFAULT_GRACE_MS);
    const snaps = await this.#o.snapshotter.list();
    const byKey = new Map(snaps.map((s) => [s.key, s]));
    const records = await this.#records();
    const builds = await liveBuildLeases(this.#o.layout);
    const buildsSince = builds.length ? Math.min(...builds.map((b) => b.started)) : Infinity;

    // Fixed reasons to keep a snapshot, whatever happens to the records.
    const fixed = new Map<string, string>();
    for (const ids of (await this.#o.imageDiffIds?.()) ?? []) {
      for (const id of chainIds(ids)) fixed.set(`chain-${digestHex(id)}`, "image");
    }
    for (const k of leasedSnapshots) fixed.set(k, "lease");
    // The grace period is for snapshots a producer made and has not recorded yet; recorded ones follow their records.
    const recorded = new Set(records.flatMap((r) => (r.ref?.layers ?? []).map((l) => l.snapshot)));
    for (const s of snaps) {
      const created = Date.parse(s.created);
      if (s.kind !== "committed") fixed.set(s.key, "in-use");
      else if (created >= buildsSince) fixed.set(s.key, "lease");
      else if (grace > 0 && now - created < grace && !fixed.has(s.key) && !recorded.has(s.key)) fixed.set(s.key, "recent");
    }

    const usable = (r: RecordEntry): boolean => r.ref !== undefined && r.ref.layers.every((l) => byKey.get(l.snapshot)?.kind === "committed" || l.blob !== undefined);
    let kept = records.filter((r) => usable(r) && !all && (policy.unusedForMs === undefined || now - r.used < policy.unusedForMs));
    const keepSet = (recs: readonly RecordEntry[]): Map<string, string> => {
      const reasons = new Map(fixed);
      for (const r of recs) for (const l of r.ref?.layers ?? []) if (!reasons.has(l.snapshot)) reasons.set(l.snapshot, "record");
      for (const key of [...reasons.keys()]) {
        for (let p = byKey.get(key)?.parent; p !== undefined && !reasons.has(p); p = byKey.get(p)?.parent) reasons.set(p, "parent");
      }
      return reasons;
    };
    let reasons = keepSet(kept);
    const sizes = await this.#sizes(sizeAll || policy.keepStorage !== undefined ? snaps : snaps.filter((s) => !reasons.has(s.key)));
    if (policy.keepStorage !== undefined) {
      const used = (r: Map<string, string>): number => snaps.reduce((n, s) => n + (r.has(s.key) ? sizes.get(s.key) ?? 0 : 0), 0);
      const lru = [...kept].sort((a, b) => a.used - b.used);
      while (lru.length > 0 && used(reasons) > policy.keepStorage) {
        const drop = lru.shift()!;
        kept = kept.filter((r) => r !== drop);
        reasons = keepSet(kept);
      }
    }
    const keptSet = new Set(kept);
    const remove = snaps.filter((s) => s.kind === "committed" && !reasons.has(s.key));
    return {
      dropRecords: records.filter((r) => !keptSet.has(r)),
      keptRecords: kept,
      removeSnapshots: childrenFirst(remove, byKey),
      reasons,
      all: snaps,
      sizes,
      buildsRunning: builds.length > 0,
    };
  }

  async #records(): Promise<RecordEntry[]> {
    const out: RecordEntry[] = [];
    for (const name of await listSorted(this.#recordsDir)) {
      if (!/^[0-9a-f]{64}\.json$/.test(name)) continue;
      const file = join(this.#recordsDir, name);
      const st = await stat(file).catch(() => undefined);
      if (!st) continue;
      const rec = await readJsonFile<{ ref?: BuildRef }>(file);
      const ref = rec && Array.isArray(rec.ref?.layers) ? rec.ref : undefined;
      out.push({ key: `sha256:${name.slice(0, 64)}` as Digest, file, ref, used: st.mtimeMs });
    }
    return out;
  }

  /** Bytes of each committed snapshot's own layer (its diff), cached per key + creation time. */
  async #sizes(snaps: readonly SnapshotInfo[]): Promise<Map<string, number>> {
    const cached = (await readJsonFile<Record<string, { created: string; bytes: number }>>(this.#sizesFile)) ?? {};
    const out = new Map<string, number>();
    for (const s of snaps) {
      if (s.kind !== "committed") continue;
      const c = cached[s.key];
      if (c && c.created === s.created && typeof c.bytes === "number") {
        out.set(s.key, c.bytes);
        continue;
      }
      const diff = await this.#o.snapshotter.diff(s.key).catch(() => undefined);
      let bytes = 0;
      for (const e of diff?.entries ?? []) if (e.kind === "entry") bytes += e.stat.isFile() ? Number(e.stat.size) : 0;
      out.set(s.key, bytes);
    }
    return out;
  }

  async #saveSizes(sizes: ReadonlyMap<string, number>, existing: ReadonlySet<string>): Promise<void> {
    const prev = (await readJsonFile<Record<string, { created: string; bytes: number }>>(this.#sizesFile)) ?? {};
    const snaps = new Map((await this.#o.snapshotter.list()).map((s) => [s.key, s]));
    const next: Record<string, { created: string; bytes: number }> = {};
    for (const key of existing) {
      const s = snaps.get(key);
      if (!s || s.kind !== "committed") continue;
      const bytes = sizes.get(key) ?? (prev[key]?.created === s.created ? prev[key]?.bytes : undefined);
      if (bytes !== undefined) next[key] = { created: s.created, bytes };
    }
    await writeFileAtomic(this.#sizesFile, JSON.stringify(next)).catch(() => {});
  }
}

/** Options of `pruneBuildCache`. */
export interface PruneBuildCacheOptions extends CachePrunePolicy {
  readonly gc: CacheGc;
  /** Other root providers (the local images). */
  readonly providers?: readonly RootProvider[];
  /** Direct references of a blob (manifest → config + layers), from the image room. */
  readonly children?: (digest: Digest) => Promise<Iterable<Digest>>;
}

/** Prune the build cache by policy and then every blob nobody references, under the root's gc lock. */
export async function pruneBuildCache(store: ContentStore, opts: PruneBuildCacheOptions): Promise<{ readonly blobs: PruneReport; readonly cache: CachePruneReport }> {
  await reapDeadLeases(store.layout);
  const all = opts.all ?? false;
  let graceMs = opts.graceMs ?? (all ? 0 : DEFAULT_GRACE_MS);
  // Blobs a running build wrote are referenced by nothing yet: keep everything younger than the oldest build.
  const builds = await liveBuildLeases(store.layout);
  if (builds.length > 0) graceMs = Math.max(graceMs, Date.now() - Math.min(...builds.map((b) => b.started)) + 3600_000);
  let cache: CachePruneReport = { records: [], snapshots: [], layerMeta: 0, cacheMounts: [], reclaimedBytes: 0 };
  const provider = opts.gc.rootProvider(opts, (r) => (cache = r));
  const blobs = await prune(store, {
    all,
    keepStorage: opts.keepStorage,
    graceMs,
    providers: [...(opts.providers ?? []), provider],
    ...(opts.children ? { children: opts.children } : {}),
  });
  return { blobs, cache };
}

function childrenFirst(snaps: readonly SnapshotInfo[], byKey: ReadonlyMap<string, SnapshotInfo>): SnapshotInfo[] {
  const depth = (s: SnapshotInfo): number => {
    let d = 0;
    for (let p = s.parent; p !== undefined; p = byKey.get(p)?.parent) d++;
    return d;
  };
  return [...snaps].map((s) => ({ s, d: depth(s) })).sort((a, b) => b.d - a.d).map((x) => x.s);
}

async function treeSize(path: string): Promise<number> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return 0;
  let n = st.isFile() ? st.size : 0;
  if (st.isDirectory()) for (const e of await listSorted(path)) n += await treeSize(join(path, e));
  return n;
}
