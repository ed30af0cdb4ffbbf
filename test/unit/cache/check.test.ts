import { describe, it, expect } from "@jest/globals";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkCache } from "../../../src/cache/index.js";
import type { SnapshotInfo, Snapshotter } from "../../../src/snapshot/index.js";
import { openContentStore } from "../../../src/store/index.js";

/** A fake of the Snapshotter contract: only list() is used by checkCache. */
function fakeSnapshotter(snaps: readonly SnapshotInfo[]): Snapshotter {
  return { list: async () => snaps } as unknown as Snapshotter;
}

const snap = (key: string, kind: SnapshotInfo["kind"], parent?: string): SnapshotInfo => ({ key, kind, parent, created: "2024-01-01T00:00:00Z" });

describe("checkCache", () => {
  it("finds dangling records, missing parents, corrupt records and leftover active snapshots", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsb-cache-check-"));
    try {
      const store = await openContentStore(root);
      const blob = await store.putBytes("layer");
      const records = join(store.layout.cache, "records");
      mkdirSync(records, { recursive: true });
      const rec = (hex: string, layers: unknown[]): void =>
        writeFileSync(join(records, `${hex}.json`), JSON.stringify({ v: 1, key: `sha256:${hex}`, ref: { layers }, record: {}, created: "x" }));
      rec("a".repeat(64), [{ snapshot: "layer-1" }]);
      rec("b".repeat(64), [{ snapshot: "chain-x", diffId: blob.digest, blob: { ...blob, mediaType: "m" } }]);
      rec("c".repeat(64), [{ snapshot: "layer-gone" }]);
      writeFileSync(join(records, `${"d".repeat(64)}.json`), "{not json");
      const snapshotter = fakeSnapshotter([snap("layer-1", "committed"), snap("active-1", "active", "layer-1"), snap("layer-2", "committed", "missing")]);
      const r = await checkCache({ layout: store.layout, store, snapshotter });
      expect(r.ok).toBe(false);
      expect(r.records).toBe(4);
      expect(r.dangling.map((f) => f.what).sort()).toEqual([`records/${"c".repeat(64)}.json`, "snapshot layer-2"]);
      expect(r.corrupt.map((f) => f.what)).toEqual([`records/${"d".repeat(64)}.json`]);
      expect(r.orphaned.map((f) => f.what)).toEqual(["snapshot active-1"]);
      expect(r.unreferenced).toEqual(["layer-2"]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
