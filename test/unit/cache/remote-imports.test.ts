import { describe, it, expect } from "@jest/globals";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalCacheStore, RefManager, type LayerBlob } from "../../../src/cache/index.js";
import { CacheConfigBuilder, CacheImports, SharedCacheStore, type CacheSource, type ChainLayer } from "../../../src/cache/remote/index.js";
import { parseReference } from "../../../src/image/index.js";
import type { ProgressEvent } from "../../../src/progress/events.js";
import { computeCacheKey, type CacheKeyRecord } from "../../../src/solver/index.js";
import { rootLayout } from "../../../src/store/index.js";
import { sha256 } from "../../../src/util/digest.js";

const layer = (n: string, extra: Partial<ChainLayer> = {}): ChainLayer => ({
  digest: sha256(`blob ${n}`), size: 10, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", diffId: sha256(`diff ${n}`), ...extra,
});
const rec = (op: string): CacheKeyRecord => ({ key: computeCacheKey(sha256(op), []), opDigest: sha256(op), deps: [] });

/** Only fromImage / addBlobFetcher are used by imports: no snapshotter or store is touched. */
const refs = (): RefManager => new RefManager({ snapshotter: {} as never, store: {} as never, layout: rootLayout("/nonexistent") });

function source(name: string, entries: [CacheKeyRecord, ChainLayer[]][], fetch: (b: LayerBlob) => Promise<void>, domain?: string): CacheSource {
  const b = new CacheConfigBuilder();
  for (const [r, chain] of entries) b.add(r, chain);
  return { name, config: b.build(), fetch, ...(domain ? { repository: parseReference(`${domain}/cache:x`) } : {}) };
}

describe("CacheImports", () => {
  it("answers a key with a lazy ref over the remote chain (ChainID snapshots, created and empty kept)", () => {
    const r = rec("run");
    const imports = new CacheImports([source("s", [[r, [layer("a"), layer("b", { created: "2024-02-02T00:00:00Z", empty: true })]]], async () => {})], { store: {} as never, registry: {} as never, refs: refs(), progress: () => {} });
    const hit = imports.load(r.key)!;
    expect(hit.source).toBe("s");
    expect(hit.ref.layers).toHaveLength(2);
    expect(hit.ref.layers[0]!.snapshot).toMatch(/^chain-[0-9a-f]{64}$/);
    expect(hit.ref.layers[0]!.blob?.digest).toBe(layer("a").digest);
    expect(hit.ref.layers[1]).toMatchObject({ diffId: layer("b").diffId, created: "2024-02-02T00:00:00Z", empty: true });
    expect(imports.load(rec("other").key)).toBeUndefined();
  });

  it("a blob that fails to fetch poisons the records that use it (warning), and the next source answers", async () => {
    const r = rec("run");
    const events: ProgressEvent[] = [];
    const bad = source("bad", [[r, [layer("a"), layer("bad")]]], async () => {
      throw new Error("digest mismatch");
    });
    const fetched: string[] = [];
    const good = source("good", [[r, [layer("a"), layer("good")]]], async (b) => void fetched.push(b.digest));
    const imports = new CacheImports([bad, good], { store: {} as never, registry: {} as never, refs: refs(), progress: (e) => events.push(e) });
    const first = imports.load(r.key)!;
    expect(first.source).toBe("bad");
    await expect(imports.fetcher(first.ref.layers[1]!.blob!)).rejects.toMatchObject({ code: "TSB_CACHE_REMOTE_BLOB", digest: layer("bad").digest });
    expect(events.some((e) => e.type === "warning" && e.message.includes(layer("bad").digest))).toBe(true);
    expect(imports.takePoisoned()).toEqual([layer("bad").digest]);
    expect(imports.takePoisoned()).toEqual([]);
    expect(imports.load(r.key)!.source).toBe("good");
    // The shared base layer is fetched from the first source that lists it.
    expect(await imports.fetcher(layer("a"))).toBe(true);
    expect(await imports.fetcher(layer("unknown"))).toBe(false);
  });

  it("knows which blobs a push to the same registry can mount", () => {
    const imports = new CacheImports([source("s", [[rec("x"), [layer("a")]]], async () => {}, "reg.example:5000")], { store: {} as never, registry: {} as never, refs: refs(), progress: () => {} });
    expect(imports.mountable(layer("a").digest, "reg.example:5000")).toBe(true);
    expect(imports.mountable(layer("a").digest, "other.example")).toBe(false);
    expect(imports.mountable(layer("b").digest, "reg.example:5000")).toBe(false);
  });
});

describe("SharedCacheStore", () => {
  it("answers from local records first, then imports, and remembers every key's ref", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tsb-shared-store-"));
    try {
      const layout = rootLayout(dir);
      const m = new RefManager({ snapshotter: { stat: async () => ({ kind: "committed" }) } as never, store: { has: async () => false } as never, layout });
      const local = new LocalCacheStore(layout, m);
      const r1 = rec("local");
      const r2 = rec("remote");
      await local.save(r1.key, { layers: [{ snapshot: "layer-1" }] }, r1);
      const imports = new CacheImports([source("s", [[r1, [layer("x")]], [r2, [layer("y")]]], async () => {})], { store: {} as never, registry: {} as never, refs: m, progress: () => {} });
      const store = new SharedCacheStore(local, imports);
      expect((await store.load(r1.key))!.layers[0]!.snapshot).toBe("layer-1");
      expect((await store.load(r2.key))!.layers[0]!.blob?.digest).toBe(layer("y").digest);
      expect(await store.load(rec("none").key)).toBeUndefined();
      const r3 = rec("built");
      await store.save(r3.key, { layers: [{ snapshot: "layer-3" }] }, r3);
      expect([...store.results.keys()].sort()).toEqual([r1.key, r2.key, r3.key].sort());
      expect([...store.imported]).toEqual([r2.key]);
      // The imported hit is now a local record too.
      expect(await local.record(r2.key)).toMatchObject({ key: r2.key, opDigest: r2.opDigest });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
