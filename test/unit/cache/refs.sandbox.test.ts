import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { readFile, rm, writeFile, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { requireSession } from "../../helpers/session.js";
import { CacheRoots } from "../../helpers/cache-roots.js";
import { rootLayout } from "../../../src/store/index.js";
import { EMPTY_REF, LocalCacheStore, RefManager, type BuildRef } from "../../../src/cache/index.js";
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
