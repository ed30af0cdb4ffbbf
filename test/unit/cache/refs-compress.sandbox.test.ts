import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { requireSession } from "../../helpers/session.js";
import { CacheRoots } from "../../helpers/cache-roots.js";
import { lookupVariant } from "../../../src/store/index.js";
import { exportLayer } from "../../../src/snapshot/index.js";
import { EMPTY_REF, RefManager } from "../../../src/cache/index.js";


const GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
const PLAIN = "application/vnd.oci.image.layer.v1.tar";

describe("RefManager.exportLayer with uncompressed layers", () => {
  const roots = new CacheRoots();
  beforeAll(() => void requireSession());
  afterAll(() => roots.closeAll());

  it("compresses a plain layer from its stored tar: the bytes a direct export writes, remembered once", async () => {
    const a = await roots.open("tsb-cache-compress-");
    const w = await a.refs.prepare(EMPTY_REF);
    await mkdir(join(w.path, "data"));
    await writeFile(join(w.path, "data", "text"), "compress me later\n".repeat(5000));
    const ref = await w.commit();

    const plain = await a.refs.exportLayer(ref, 0, { compression: "none" });
    expect(plain.blob.mediaType).toBe(PLAIN);
    expect(plain.blob.digest).toBe(plain.diffId);

    // What exporting the snapshot with gzip directly gives.
    const sink = new PassThrough();
    sink.resume();
    const direct = await exportLayer(await a.snap.diff(ref.layers[0]!.snapshot), sink, { compression: "gzip" });
    expect(direct.diffId).toBe(plain.diffId);

    const gz = await a.refs.exportLayer(ref, 0, { compression: "gzip" });
    expect(gz.blob).toEqual({ digest: direct.digest, size: direct.size, mediaType: GZIP });
    expect(gz.diffId).toBe(plain.diffId);
    expect(await lookupVariant(a.store, plain.diffId, "gzip")).toEqual({ digest: direct.digest, size: direct.size });
    // Both blobs are remembered: each compression is answered without work.
    expect((await a.refs.exportLayer(ref, 0, { compression: "none" })).blob).toEqual(plain.blob);
    expect((await a.refs.exportLayer(ref, 0, { compression: "gzip" })).blob).toEqual(gz.blob);

    // A root that only has the plain blob (a base layer from a local image built with -t, no snapshot).
    const b = await roots.open("tsb-cache-compress-");
    await b.store.ingest({ digest: plain.blob.digest }, await a.store.openRead(plain.blob.digest));
    const base = b.refs.fromImage([{ diffId: plain.diffId, blob: plain.blob }]);
    // An uncompressed output keeps it as it is; a gzip output never receives it uncompressed.
    expect((await b.refs.exportLayer(base, 0, { compression: "none" })).blob).toEqual(plain.blob);
    const baseGz = await b.refs.exportLayer(base, 0, { compression: "gzip" });
    expect(baseGz.blob).toEqual(gz.blob);
    expect(await b.store.has(gz.blob.digest)).toBe(true);
    // Other compressed base layers keep their compression (BuildKit's rule): a gzip base stays gzip for zstd.
    const gzBase = b.refs.fromImage([{ diffId: plain.diffId, blob: gz.blob }]);
    expect((await b.refs.exportLayer(gzBase, 0, { compression: "zstd" })).blob).toEqual(gz.blob);
  });
});
