/**
 * The cache room's part of `tsbuild doctor`: every cache record must point at layers that can still be had, every
 * snapshot's parent must exist, and no writable or view snapshot may be left once no build runs. Only reads (the
 * snapshotter itself reaps dead processes' snapshots when it opens a root).
 */
import { join } from "node:path";
import type { Snapshotter } from "../snapshot/index.js";
import type { ContentStore, RootLayout } from "../store/index.js";
import type { Digest } from "../util/digest.js";
import { listSorted, readJsonFile } from "./json-files.js";
import type { BuildRef } from "./types.js";

/** One problem found by {@link checkCache}. */
export interface CacheFinding {
  /** What is affected: `records/<key>.json`, `layers/<snapshot>.json` or `snapshot <key>`. */
  readonly what: string;
  readonly reason: string;
}

/** Findings of {@link checkCache}. `ok` is false when `dangling`, `corrupt` or `orphaned` has an entry. */
export interface CacheCheckReport {
  readonly ok: boolean;
  readonly records: number;
  readonly snapshots: number;
  /** Records or layer metadata naming layers, parents or blobs that are gone. */
  readonly dangling: readonly CacheFinding[];
  /** Unreadable records or metadata. */
  readonly corrupt: readonly CacheFinding[];
  /** Active and view snapshots: leftovers when no build is running on the root. */
  readonly orphaned: readonly CacheFinding[];
  /** Committed snapshots no record or layer metadata refers to (space only a prune can reclaim). Not a failure. */
  readonly unreferenced: readonly string[];
}

/** Options of {@link checkCache}. */
export interface CacheCheckOptions {
  readonly layout: RootLayout;
  readonly store: ContentStore;
  readonly snapshotter: Snapshotter;
}

interface RecordShape {
  readonly key?: unknown;
  readonly ref?: BuildRef;
}

interface MetaShape {
  readonly diffId?: unknown;
  readonly blobs?: readonly { readonly digest: Digest }[];
}

/** Check the build cache records and the snapshots of a root against each other. */
export async function checkCache(opts: CacheCheckOptions): Promise<CacheCheckReport> {
  const { layout, store, snapshotter } = opts;
  const dangling: CacheFinding[] = [];
  const corrupt: CacheFinding[] = [];
  const orphaned: CacheFinding[] = [];
  const snaps = await snapshotter.list();
  const byKey = new Map(snaps.map((s) => [s.key, s]));
  const used = new Set<string>();

  const recordsDir = join(layout.cache, "records");
  const recordFiles = (await listSorted(recordsDir)).filter((n) => /^[0-9a-f]{64}\.json$/.test(n));
  for (const name of recordFiles) {
    const what = `records/${name}`;
    const rec = await readJsonFile<RecordShape>(join(recordsDir, name));
    if (!rec || !Array.isArray(rec.ref?.layers) || rec.key !== `sha256:${name.slice(0, 64)}`) {
      corrupt.push({ what, reason: "unreadable or malformed record" });
      continue;
    }
    for (const l of rec.ref.layers) {
      used.add(l.snapshot);
      if (byKey.get(l.snapshot)?.kind === "committed") continue;
      if (l.blob && l.diffId && (await store.has(l.blob.digest))) continue;
      dangling.push({ what, reason: `layer ${l.snapshot} has neither a committed snapshot nor a blob in the store` });
      break;
    }
  }

  const layersDir = join(layout.cache, "layers");
  for (const name of (await listSorted(layersDir)).filter((n) => n.endsWith(".json") && !n.includes(".tmp"))) {
    const what = `layers/${name}`;
    const meta = await readJsonFile<MetaShape>(join(layersDir, name));
    if (!meta || typeof meta.diffId !== "string" || !Array.isArray(meta.blobs)) {
      corrupt.push({ what, reason: "unreadable or malformed layer metadata" });
      continue;
    }
    used.add(name.slice(0, -".json".length));
    if (meta.blobs.length > 0 && !(await someInStore(store, meta.blobs))) dangling.push({ what, reason: "none of its exported blobs is in the store" });
  }

  const unreferenced: string[] = [];
  for (const s of snaps) {
    if (s.parent !== undefined && !byKey.has(s.parent)) dangling.push({ what: `snapshot ${s.key}`, reason: `parent ${s.parent} does not exist` });
    if (s.kind !== "committed") orphaned.push({ what: `snapshot ${s.key}`, reason: `${s.kind} snapshot created ${s.created}` });
    if (s.parent !== undefined) used.add(s.parent);
  }
  for (const s of snaps) if (s.kind === "committed" && !used.has(s.key) && !s.key.startsWith("chain-")) unreferenced.push(s.key);

  return {
    ok: dangling.length === 0 && corrupt.length === 0 && orphaned.length === 0,
    records: recordFiles.length,
    snapshots: snaps.length,
    dangling,
    corrupt,
    orphaned,
    unreferenced,
  };
}

async function someInStore(store: ContentStore, blobs: readonly { readonly digest: Digest }[]): Promise<boolean> {
  for (const b of blobs) if (await store.has(b.digest)) return true;
  return false;
}
