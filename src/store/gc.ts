/**
 * Garbage collection and disk usage. GC never interprets image formats: the set of roots comes from registered
 * root providers (images, cache, snapshots) and live leases, and `children` (given by the image room) expands a
 * root to everything it references. Unreferenced blobs younger than the grace period are kept, because a producer
 * may have just written them and not yet recorded a reference.
 */
import { stat } from "node:fs/promises";
import type { Digest } from "../util/digest.js";
import { dirSize, removeBlob } from "./content-store.js";
import { deleteLease, listLeases } from "./leases.js";
import { withLock } from "./lock.js";
import type { BlobInfo, ContentStore } from "./types.js";
import { pruneVariants } from "./variants.js";

/** Options passed to a provider's own prune step. */
export interface ProviderPruneOptions {
  /** `--all`: drop everything the provider can rebuild (e.g. the whole build cache). */
  readonly all: boolean;
  /** `--keep-storage`: keep at most this many bytes of the provider's own data. */
  readonly keepStorage?: number | undefined;
  /** Snapshot keys held by live leases; a snapshot provider must keep them. */
  readonly leasedSnapshots: ReadonlySet<string>;
}

/** Something that holds references into the store (image db, cache records, snapshots). */
export interface RootProvider {
  /** What `du` calls this kind of data: "images", "cache", "snapshots", … */
  readonly kind: string;
  /** Digests this provider references (children are expanded by GC via `children`). */
  roots(): Promise<Iterable<Digest>>;
  /** Let the provider drop its own unreferenced data first (called under the GC lock). */
  prune?(opts: ProviderPruneOptions): Promise<void>;
  /** Bytes this provider uses outside `blobs/` (e.g. snapshot directories). */
  usage?(): Promise<number>;
}

const registered = new Map<string, RootProvider>();

/** Register a provider for this process (rooms call this from their composition code). Replaces one of the same kind. */
export function registerRootProvider(provider: RootProvider): void {
  registered.set(provider.kind, provider);
}

/** Options of `prune`. */
export interface PruneOptions {
  readonly all?: boolean;
  /** Keep at most this many bytes of blobs (oldest unreferenced go first). */
  readonly keepStorage?: number | undefined;
  /** Unreferenced blobs modified within this window are kept. @default 600000 (10 min); 0 with `all` */
  readonly graceMs?: number;
  /** Report without deleting. */
  readonly dryRun?: boolean;
  /** Providers in addition to the registered ones. */
  readonly providers?: readonly RootProvider[];
  /** Direct references of a blob (manifest → config + layers, index → manifests). */
  readonly children?: (digest: Digest) => Promise<Iterable<Digest>>;
}

/** What `prune` did. */
export interface PruneReport {
  readonly removed: readonly BlobInfo[];
  readonly reclaimedBytes: number;
  readonly keptBlobs: number;
  readonly expiredLeases: readonly string[];
}

function providersOf(opts: { readonly providers?: readonly RootProvider[] | undefined }): RootProvider[] {
  const all = new Map(registered);
  for (const p of opts.providers ?? []) all.set(p.kind, p);
  return [...all.values()];
}

/** Everything reachable from providers and live leases. Deletes expired leases unless `dryRun`. */
export async function collectRoots(
  store: ContentStore,
  opts: Pick<PruneOptions, "providers" | "children" | "dryRun">,
): Promise<{ reachable: Set<Digest>; leasedSnapshots: Set<string>; expiredLeases: string[]; byKind: Map<string, Set<Digest>> }> {
  const now = Date.now();
  const expiredLeases: string[] = [];
  const leasedSnapshots = new Set<string>();
  const byKind = new Map<string, Set<Digest>>();
  const leased = new Set<Digest>();
  for (const lease of await listLeases(store.layout)) {
    if (lease.expiresAt <= now) {
      expiredLeases.push(lease.id);
      if (!opts.dryRun) await deleteLease(store.layout, lease.id);
      continue;
    }
    for (const d of lease.digests) leased.add(d);
    for (const s of lease.snapshots) leasedSnapshots.add(s);
  }
  byKind.set("leases", leased);
  for (const p of providersOf(opts)) byKind.set(p.kind, new Set(await p.roots()));
  const reachable = new Set<Digest>();
  for (const [kind, roots] of byKind) {
    const closure = await expand(store, roots, opts.children);
    byKind.set(kind, closure);
    for (const d of closure) reachable.add(d);
  }
  return { reachable, leasedSnapshots, expiredLeases, byKind };
}

async function expand(store: ContentStore, roots: Iterable<Digest>, children?: (d: Digest) => Promise<Iterable<Digest>>): Promise<Set<Digest>> {
  const seen = new Set<Digest>();
  const stack = [...roots];
  while (stack.length) {
    const d = stack.pop()!;
    if (seen.has(d)) continue;
    seen.add(d);
    if (children && (await store.has(d))) {
      for (const c of await children(d).catch(() => [] as Digest[])) if (!seen.has(c)) stack.push(c);
    }
  }
  return seen;
}

/** Delete blobs no provider or live lease references. Holds the root's `gc` lock. */
export async function prune(store: ContentStore, opts: PruneOptions = {}): Promise<PruneReport> {
  const all = opts.all ?? false;
  const grace = opts.graceMs ?? (all ? 0 : 600_000);
  return withLock(store.layout, "gc", async () => {
    const leasedNow = await collectRoots(store, { ...opts, children: undefined, dryRun: true });
    if (!opts.dryRun) {
      for (const p of providersOf(opts)) {
        await p.prune?.({ all, keepStorage: opts.keepStorage, leasedSnapshots: leasedNow.leasedSnapshots });
      }
    }
    const { reachable, expiredLeases } = await collectRoots(store, opts);
    const candidates: { info: BlobInfo; mtime: number }[] = [];
    let total = 0;
    let kept = 0;
    for await (const b of store.list()) {
      total += b.size;
      if (reachable.has(b.digest)) {
        kept++;
        continue;
      }
      const st = await stat(store.path(b.digest)).catch(() => undefined);
      if (!st) continue;
      if (Date.now() - st.mtimeMs < grace) {
        kept++;
        continue;
      }
      candidates.push({ info: b, mtime: st.mtimeMs });
    }
    candidates.sort((a, b) => a.mtime - b.mtime);
    const removed: BlobInfo[] = [];
    let reclaimed = 0;
    for (const c of candidates) {
      if (opts.keepStorage !== undefined && total - reclaimed <= opts.keepStorage) {
        kept++;
        continue;
      }
      if (!opts.dryRun) await removeBlob(store.layout, c.info.digest);
      removed.push(c.info);
      reclaimed += c.info.size;
    }
    if (!opts.dryRun) await pruneVariants(store);
    return { removed, reclaimedBytes: reclaimed, keptBlobs: kept, expiredLeases };
  });
}

/** One row of `du`. */
export interface UsageRow {
  readonly kind: string;
  readonly bytes: number;
  /** How many items (blobs, images, …) when known. */
  readonly count?: number;
}

/** Disk usage by kind: blobs (all), per provider (content reachable from it, or its own usage), snapshots, cache, in-flight ingests. */
export async function diskUsage(store: ContentStore, opts: Pick<PruneOptions, "providers" | "children"> = {}): Promise<{ rows: UsageRow[]; reclaimableBytes: number }> {
  const sizes = new Map<Digest, number>();
  for await (const b of store.list()) sizes.set(b.digest, b.size);
  const { reachable, byKind } = await collectRoots(store, { ...opts, dryRun: true });
  const rows: UsageRow[] = [];
  const sum = (set: Iterable<Digest>): number => {
    let n = 0;
    for (const d of set) n += sizes.get(d) ?? 0;
    return n;
  };
  rows.push({ kind: "blobs", bytes: sum(sizes.keys()), count: sizes.size });
  const providers = providersOf(opts);
  for (const [kind, set] of byKind) {
    const p = providers.find((x) => x.kind === kind);
    const own = p?.usage ? await p.usage() : 0;
    rows.push({ kind, bytes: sum(set) + own, count: set.size });
  }
  if (!byKind.has("snapshots")) rows.push({ kind: "snapshots", bytes: await dirSize(store.layout.snapshots) });
  if (!byKind.has("cache")) rows.push({ kind: "cache", bytes: await dirSize(store.layout.cache) });
  rows.push({ kind: "ingest", bytes: await dirSize(store.layout.ingest) });
  let reclaimable = 0;
  for (const [d, s] of sizes) if (!reachable.has(d)) reclaimable += s;
  return { rows, reclaimableBytes: reclaimable };
}
