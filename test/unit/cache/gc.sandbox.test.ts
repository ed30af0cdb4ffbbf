/**
 * Build-cache GC over a real snapshotter and store: what records, images and leases keep, LRU order of
 * --keep-storage, until=, children-first removal, stale layer metadata, dead-owner leases and blob pruning.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireSession } from "../../helpers/session.js";
import { createLease, listLeases, openContentStore, rootLayout, type ContentStore, type RootLayout } from "../../../src/store/index.js";
import { createSnapshotter, type Snapshotter } from "../../../src/snapshot/index.js";
import {
  BuildLease,
  CacheGc,
  EMPTY_REF,
  LeasedRefManager,
  LocalCacheStore,
  RefManager,
  pruneBuildCache,
  readIncrementalRecord,
  writeIncrementalRecord,
  type BuildRef,
} from "../../../src/cache/index.js";
import { sha256, type Digest } from "../../../src/util/digest.js";

interface Root {
  dir: string;
  layout: RootLayout;
  store: ContentStore;
  snap: Snapshotter;
  refs: RefManager;
  records: LocalCacheStore;
  images: Digest[][];
  gc: CacheGc;
}

const roots: Root[] = [];

async function openRoot(): Promise<Root> {
  const dir = await mkdtemp(join(tmpdir(), "tsb-gc-"));
  const layout = rootLayout(dir);
  const store = await openContentStore(dir);
  const snap = await createSnapshotter(layout.snapshots);
  const refs = new RefManager({ snapshotter: snap, store, layout });
  const images: Digest[][] = [];
  const r: Root = {
    dir, layout, store, snap, refs, images,
    records: new LocalCacheStore(layout, refs),
    gc: new CacheGc({ layout, store, snapshotter: snap, imageDiffIds: async () => images }),
  };
  roots.push(r);
  return r;
}

/** A new layer on `parent` holding one file of `bytes` bytes. */
async function layer(r: Root, parent: BuildRef, name: string, bytes = 10): Promise<BuildRef> {
  const w = await r.refs.prepare(parent);
  await writeFile(join(w.path, name), Buffer.alloc(bytes, 1));
  return w.commit();
}

async function record(r: Root, seed: string, ref: BuildRef, usedSecondsAgo = 0): Promise<Digest> {
  const key = sha256(seed);
  await r.records.save(key, ref, { key, opDigest: key, deps: [] });
  if (usedSecondsAgo) {
    const t = new Date(Date.now() - usedSecondsAgo * 1000);
    await utimes(join(r.layout.cache, "records", `${key.slice(7)}.json`), t, t);
  }
  return key;
}

const keys = async (r: Root): Promise<string[]> => (await r.snap.list()).map((s) => s.key).sort();
const top = (ref: BuildRef): string => ref.layers[ref.layers.length - 1]!.snapshot;

describe("CacheGc", () => {
  beforeAll(() => void requireSession());
  afterAll(async () => {
    for (const r of roots) {
      await r.snap.close();
      await rm(r.dir, { recursive: true, force: true });
    }
  });

  it("keeps what records need and removes unreferenced snapshots children first, with their layer metadata", async () => {
    const r = await openRoot();
    const a = await layer(r, EMPTY_REF, "a");
    const b = await layer(r, a, "b");
    const orphan1 = await layer(r, b, "o1");
    const orphan2 = await layer(r, orphan1, "o2");
    await record(r, "b", b);
    await r.refs.exportLayer(orphan2, 3); // layer metadata + a blob only this snapshot names
    const meta = await readdir(join(r.layout.cache, "layers"));
    expect(meta).toEqual([`${top(orphan2)}.json`]);

    // The default policy keeps young snapshots.
    expect((await r.gc.prune({})).snapshots).toEqual([]);
    const report = await r.gc.prune({ graceMs: 0 });
    expect(report.snapshots).toEqual([top(orphan2), top(orphan1)]);
    expect(report.records).toEqual([]);
    expect(report.layerMeta).toBe(1);
    expect(report.incremental).toBe(0);
    expect(await keys(r)).toEqual([top(a), top(b)].sort());
    expect(await readdir(join(r.layout.cache, "layers"))).toEqual([]);
    expect(await r.records.load(sha256("b"))).toEqual(b);
  });

  it("drops incremental-COPY records and derived notes with their snapshots, keeps those of kept ones", async () => {
    const r = await openRoot();
    const kept = await layer(r, EMPTY_REF, "kept");
    const gone = await layer(r, kept, "gone");
    await record(r, "kept", kept);
    await writeIncrementalRecord(r.layout, "k-kept", { snapshot: top(kept), items: [], entries: {} }, { from: top(kept), changed: [] });
    await writeIncrementalRecord(r.layout, "k-gone", { snapshot: top(gone), items: [], entries: { "a": "file 644" } }, { from: top(kept), changed: ["a"], removed: [] });
    const dir = join(r.layout.cache, "incremental");
    expect((await readdir(dir)).sort()).toEqual(["derived", "k-gone.json", "k-kept.json"]);
    const report = await r.gc.prune({ graceMs: 0 });
    expect(report.snapshots).toEqual([top(gone)]);
    expect(report.incremental).toBe(2);
    expect((await readdir(dir)).sort()).toEqual(["derived", "k-kept.json"]);
    expect(await readdir(join(dir, "derived"))).toEqual([`${top(kept)}.json`]);
    expect(await readIncrementalRecord(r.layout, "k-kept", r.snap)).toMatchObject({ snapshot: top(kept) });
  });

  it("--all drops every record and every snapshot not used by an image, and the cache mounts", async () => {
    const r = await openRoot();
    const base = await layer(r, EMPTY_REF, "base");
    const built = await layer(r, base, "built");
    await record(r, "built", built);
    // An image whose only layer has the base's ChainID (= its diff_id) keeps chain-<id>.
    const diffId = sha256("base layer");
    const imported = r.refs.fromImage([{ diffId, blob: { digest: diffId, size: 1, mediaType: "x" } }]);
    const chain = await layer(r, EMPTY_REF, "unrelated");
    await r.snap.prepare("tmp-img");
    await r.snap.commit("tmp-img", imported.layers[0]!.snapshot);
    r.images.push([diffId]);
    await mkdir(join(r.layout.cache, "mounts", "abc", "data"), { recursive: true });
    await writeFile(join(r.layout.cache, "mounts", "abc", "data", "f"), "cached");

    const report = await r.gc.prune({ all: true });
    expect(report.records).toEqual([sha256("built")]);
    expect(report.cacheMounts).toEqual(["abc"]);
    expect(await keys(r)).toEqual([imported.layers[0]!.snapshot]);
    expect(report.snapshots).toEqual(expect.arrayContaining([top(built), top(base), top(chain)]));
    expect(await r.records.load(sha256("built"))).toBeUndefined();
  });

  it("--keep-storage drops least recently used records first, and a cache hit counts as a use", async () => {
    const r = await openRoot();
    const refs: BuildRef[] = [];
    for (const [i, name] of ["one", "two", "three"].entries()) {
      refs.push(await layer(r, EMPTY_REF, name, 100_000));
      await record(r, name, refs[i]!, 300 - i * 100); // one: oldest use, three: newest
    }
    // A hit on "one" makes it the most recently used.
    expect(await r.records.load(sha256("one"))).toEqual(refs[0]);
    const report = await r.gc.prune({ keepStorage: 250_000 });
    expect(report.records).toEqual([sha256("two")]);
    expect(report.snapshots).toEqual([top(refs[1]!)]);
    expect(report.reclaimedBytes).toBe(100_000);
    const again = await r.gc.prune({ keepStorage: 100_000 });
    expect(again.records).toEqual([sha256("three")]);
    expect(await keys(r)).toEqual([top(refs[0]!)]);
  });

  it("until= drops records not used for that long", async () => {
    const r = await openRoot();
    const old = await layer(r, EMPTY_REF, "old");
    const fresh = await layer(r, EMPTY_REF, "fresh");
    await record(r, "old", old, 7200);
    await record(r, "fresh", fresh, 10);
    const report = await r.gc.prune({ unusedForMs: 3600_000, graceMs: 0 });
    expect(report.records).toEqual([sha256("old")]);
    expect(await keys(r)).toEqual([top(fresh)]);
  });

  it("a live build lease keeps what it protected and what was made after it started; a dead owner's lease does not", async () => {
    const r = await openRoot();
    const used = await layer(r, EMPTY_REF, "used");
    const gone = await layer(r, EMPTY_REF, "gone");
    await new Promise((res) => setTimeout(res, 5)); // the lease starts after `used` and `gone` were made
    const lease = await BuildLease.start(r.layout);
    const leased = new LeasedRefManager({ snapshotter: r.snap, store: r.store, layout: r.layout }, lease);
    const view = await leased.view(used); // materialize → protect
    await view.release();
    const made = await layer(r, EMPTY_REF, "made-after-start");
    const guarded = lease.guard(r.records);
    await record(r, "hit", used);
    expect(await guarded.load(sha256("hit"))).toEqual(used);

    // A lease of a process that is gone protects nothing.
    const child = spawnSync("true");
    expect(child.pid).toBeGreaterThan(0);
    await createLease(r.layout, { id: "dead", snapshots: [top(gone)], labels: { "owner.pid": String(child.pid), "owner.host": (await import("node:os")).hostname() } });

    const { cache } = await pruneBuildCache(r.store, { gc: r.gc, all: true });
    expect(cache.snapshots).toEqual([top(gone)]);
    expect(await keys(r)).toEqual([top(used), top(made)].sort());
    expect((await listLeases(r.layout)).map((l) => l.id)).toEqual([lease.id]);
    await lease.release();
    expect(await listLeases(r.layout)).toEqual([]);
    await pruneBuildCache(r.store, { gc: r.gc, all: true });
    expect(await keys(r)).toEqual([]);
  });

  it("prunes blobs that only removed snapshots' layer metadata named, and keeps those of kept snapshots", async () => {
    const r = await openRoot();
    const kept = await layer(r, EMPTY_REF, "kept", 1000);
    const dropped = await layer(r, EMPTY_REF, "dropped", 2000);
    await record(r, "kept", kept);
    const keptBlob = (await r.refs.exportLayer(kept, 0)).blob.digest;
    const droppedBlob = (await r.refs.exportLayer(dropped, 0)).blob.digest;
    expect(await r.gc.roots()).toEqual(new Set([keptBlob, droppedBlob]));
    const { blobs } = await pruneBuildCache(r.store, { gc: r.gc, graceMs: 0 });
    expect(blobs.removed.map((b) => b.digest)).toEqual([droppedBlob]);
    expect(await r.store.has(keptBlob)).toBe(true);
    const usage = await r.gc.usage();
    expect(usage.records).toEqual({ count: 1, bytes: 1000, reclaimable: 1000 });
    expect(usage.snapshots.map((s) => [s.key, s.usedBy])).toEqual([[top(kept), undefined]]);
  });
});
