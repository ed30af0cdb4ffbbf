import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { readFile, rm, writeFile, mkdir, readdir, utimes } from "node:fs/promises";
import { join } from "node:path";
import { requireSession } from "../../helpers/session.js";
import { CacheRoots } from "../../helpers/cache-roots.js";
import { rootLayout } from "../../../src/store/index.js";
import { EMPTY_REF, LocalCacheStore, RefManager, writeIncrementalRecord, type BuildRef } from "../../../src/cache/index.js";
import { exportLayer } from "../../../src/snapshot/index.js";
import { sha256 } from "../../../src/util/digest.js";


describe("RefManager", () => {
  const roots = new CacheRoots();
  beforeAll(() => void requireSession());
  afterAll(() => roots.closeAll());

  it("builds layers on refs, exports them once, and unpacks them into another root", async () => {
    const a = await roots.open();
    const w1 = await a.refs.prepare(EMPTY_REF);
    await mkdir(join(w1.path, "etc"));
    await writeFile(join(w1.path, "etc", "hello"), "hello\n");
    const r1 = await w1.commit();
    const w2 = await a.refs.prepare(r1);
    await writeFile(join(w2.path, "etc", "second"), "2\n");
    await rm(join(w2.path, "etc", "hello"));
    const r2 = await w2.commit();
    expect(r2.layers).toHaveLength(2);

    const l0 = await a.refs.exportLayer(r2, 0);
    const l1 = await a.refs.exportLayer(r2, 1);
    expect(l0.empty).toBe(false);
    expect(l1.blob.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    // Exported once: the second export returns the same blob without re-exporting.
    expect(await a.refs.exportLayer(r2, 1)).toEqual(l1);

    // A second root receives the blobs (as a pull would) and mounts the image from them.
    const b = await roots.open();
    for (const l of [l0, l1]) {
      const bytes = await a.store.readBytes(l.blob.digest);
      await b.store.putBytes(bytes, { digest: l.blob.digest });
    }
    const image: BuildRef = b.refs.fromImage([
      { diffId: l0.diffId, blob: l0.blob },
      { diffId: l1.diffId, blob: l1.blob },
    ]);
    expect(await b.refs.available(image)).toBe(true);
    const view = await b.refs.view(image);
    try {
      expect((await readdir(join(view.path, "etc"))).sort()).toEqual(["second"]);
      expect(await readFile(join(view.path, "etc", "second"), "utf8")).toBe("2\n");
    } finally {
      await view.release();
    }
    // Base-image layers are returned as they are, never re-exported.
    expect((await b.refs.exportLayer(image, 1)).blob).toEqual(l1.blob);
  });

  it("records when a layer was built, keeps it in cache records and returns it on export", async () => {
    const a = await roots.open();
    const before = Date.now();
    const w = await a.refs.prepare(EMPTY_REF);
    await writeFile(join(w.path, "f"), "x");
    const ref = await w.commit();
    const created = ref.layers[0]!.created!;
    expect(Date.parse(created)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(created)).toBeLessThanOrEqual(Date.now());
    const cache = new LocalCacheStore(rootLayout(a.dir), a.refs);
    const key = sha256("created");
    await cache.save(key, ref, { key, opDigest: sha256("op"), deps: [] });
    expect((await cache.load(key))!.layers[0]!.created).toBe(created);
    expect((await a.refs.exportLayer(ref, 0)).created).toBe(created);
    // A ref that lost the time (older cache record) gets it back from the layer's export metadata.
    expect((await a.refs.exportLayer({ layers: [{ snapshot: ref.layers[0]!.snapshot }] }, 0)).created).toBe(created);
  });

  it("never hands out a blob written under another SOURCE_DATE_EPOCH", async () => {
    const a = await roots.open();
    const w = await a.refs.prepare(EMPTY_REF);
    await writeFile(join(w.path, "f"), "f\n");
    await utimes(join(w.path, "f"), 2_000_000_000, 2_000_000_000);
    const ref = await w.commit();
    const plain = await a.refs.exportLayer(ref, 0, { compression: "none" });
    const clamped = await a.refs.exportLayer(ref, 0, { compression: "none", sourceDateEpoch: 1000 });
    expect(clamped.diffId).not.toBe(plain.diffId);
    expect(await a.refs.exportLayer(ref, 0, { compression: "none", sourceDateEpoch: 1000 })).toEqual(clamped);
    expect((await a.refs.exportLayer(ref, 0, { compression: "none" })).diffId).toBe(plain.diffId);
  });

  it("exports a layer cloned from an exported one as a splice of its tar, equal to a full export", async () => {
    const a = await roots.open();
    const base = await (await a.refs.prepare(EMPTY_REF)).commit();
    const w1 = await a.refs.prepare(base);
    await mkdir(join(w1.path, "app/sub"), { recursive: true });
    for (let i = 0; i < 50; i++) await writeFile(join(w1.path, "app", i % 2 ? "sub" : "", `f${i}`), `file ${i}\n`);
    const r1 = await w1.commit();
    const from = r1.layers[1]!.snapshot;
    await a.refs.exportLayer(r1, 1, { compression: "none" });
    const w2 = await a.refs.prepare(base, undefined, { clone: { from, remove: ["app/sub/f1"] } });
    await rm(join(w2.path, "app/f0"));
    await writeFile(join(w2.path, "app/f0"), "changed\n");
    await writeFile(join(w2.path, "app/new"), "new\n");
    const r2 = await w2.commit();
    const snapshot = r2.layers[1]!.snapshot;
    const layout = rootLayout(a.dir);
    await writeIncrementalRecord(layout, "k", { snapshot, items: [], entries: {} }, { from, changed: ["app", "app/sub", "app/f0", "app/new"], removed: ["app/sub/f1"] });
    const spliced = await a.refs.exportLayer(r2, 1, { compression: "none" });
    const full = await exportLayer(await a.snap.diff(snapshot), join(a.dir, "full.tar"), { compression: "none" });
    expect(spliced.diffId).toBe(full.diffId);
    const listing = (await readFile(a.store.path(spliced.blob.digest))).toString("latin1");
    expect(listing).toContain("app/new");
    expect(listing).not.toContain("app/sub/f1\0");

    // The splice trusts the record and never stats kept files: a file rewritten in place behind its back (which
    // the incremental copy never does) keeps its old bytes in the layer — proof that no walk happened.
    const w3 = await a.refs.prepare(base, undefined, { clone: { from, remove: [] } });
    const r3 = await w3.commit();
    await writeFile(join((await a.snap.layerDir!(from))!, "app/f2"), "rewritten in place, longer than before\n");
    await writeIncrementalRecord(layout, "k3", { snapshot: r3.layers[1]!.snapshot, items: [], entries: {} }, { from, changed: ["app"], removed: [] });
    const trusted = await a.refs.exportLayer(r3, 1, { compression: "none" });
    const walked = await exportLayer(await a.snap.diff(r3.layers[1]!.snapshot), join(a.dir, "walked.tar"), { compression: "none" });
    expect(trusted.diffId).not.toBe(walked.diffId);
  });

  it("marks a layer without changes as empty", async () => {
    const a = await roots.open();
    const base = await (await a.refs.prepare(EMPTY_REF)).commit();
    const exported = await a.refs.exportLayer(base, 0);
    expect(exported.empty).toBe(true);
  });

  it("the local cache store drops records whose layers are gone", async () => {
    const a = await roots.open();
    const cache = new LocalCacheStore(rootLayout(a.dir), a.refs);
    const w = await a.refs.prepare(EMPTY_REF);
    await writeFile(join(w.path, "f"), "x");
    const ref = await w.commit();
    const key = sha256("key");
    await cache.save(key, ref, { key, opDigest: sha256("op"), deps: [] });
    expect(await cache.load(key)).toEqual(ref);
    await a.snap.remove(ref.layers[0]!.snapshot);
    const fresh = new LocalCacheStore(rootLayout(a.dir), new RefManager({ snapshotter: a.snap, store: a.store, layout: rootLayout(a.dir) }));
    expect(await fresh.load(key)).toBeUndefined();
  });
});
