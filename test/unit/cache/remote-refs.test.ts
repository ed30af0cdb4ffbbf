import { describe, it, expect } from "@jest/globals";
import { RefManager, type LayerBlob } from "../../../src/cache/index.js";
import { rootLayout } from "../../../src/store/index.js";
import { sha256 } from "../../../src/util/digest.js";

const blob = (n: string): LayerBlob => ({ digest: sha256(n), size: 1, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" });

describe("RefManager hooks for shared caches", () => {
  it("ensureBlobs asks the fetchers, in order, only for blobs missing from the store", async () => {
    const have = new Set<string>([blob("here").digest]);
    const m = new RefManager({ snapshotter: {} as never, store: { has: async (d: string) => have.has(d) } as never, layout: rootLayout("/nonexistent") });
    const asked: string[] = [];
    m.addBlobFetcher(async (b) => {
      asked.push(`first ${b.digest}`);
      return false;
    });
    m.addBlobFetcher(async (b) => {
      asked.push(`second ${b.digest}`);
      have.add(b.digest);
      return true;
    });
    const ref = m.fromImage([{ diffId: sha256("d1"), blob: blob("here") }, { diffId: sha256("d2"), blob: blob("remote") }]);
    await m.ensureBlobs(ref);
    expect(asked).toEqual([`first ${blob("remote").digest}`, `second ${blob("remote").digest}`]);
    expect(have.has(blob("remote").digest)).toBe(true);
  });

  it("exportLayer keeps a remote layer's blob, created time and empty flag as they are", async () => {
    const m = new RefManager({ snapshotter: {} as never, store: {} as never, layout: rootLayout("/nonexistent") });
    const ref = { layers: [{ snapshot: "chain-x", diffId: sha256("d"), blob: blob("b"), created: "2024-03-03T00:00:00Z", empty: true }] };
    expect(await m.exportLayer(ref, 0, { compression: "zstd" })).toEqual({ diffId: sha256("d"), blob: blob("b"), empty: true, created: "2024-03-03T00:00:00Z" });
  });
});
