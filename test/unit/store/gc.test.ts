import { describe, it, expect } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createLease, diskUsage, fsck, openContentStore, prune } from "../../../src/store/index.js";
import { importRootfs, openImageStore } from "../../../src/image/index.js";
import { tinyRootfsTar } from "../../helpers/rootfs.js";
import type { Digest } from "../../../src/util/digest.js";

describe("prune", () => {
  it("keeps image, leased and cache-provider content; removes the rest", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsb-gc-"));
    try {
      const images = await openImageStore(root);
      const store = images.store;
      const img = await importRootfs(store, Readable.from([await tinyRootfsTar()]));
      await images.putImage("keep:1", img.manifest);
      const leased = await store.putBytes("leased");
      await createLease(store.layout, { digests: [leased.digest] });
      const expired = await store.putBytes("expired lease");
      await createLease(store.layout, { digests: [expired.digest], ttlMs: -1 });
      const cached = await store.putBytes("cache record");
      const garbage = await store.putBytes("garbage");
      const young = await store.putBytes("young");
      const cache = { kind: "cache", roots: async (): Promise<Digest[]> => [cached.digest] };
      const providers = [images.rootProvider(), cache];

      const usage = await diskUsage(store, { providers });
      expect(usage.rows.find((r) => r.kind === "images")!.count).toBe(3);
      expect(usage.reclaimableBytes).toBe(garbage.size + young.size + expired.size);

      // With a grace period nothing fresh goes; with graceMs 0 the unreferenced blobs go.
      const first = await prune(store, { providers });
      expect(first.removed).toEqual([]);
      expect(first.expiredLeases.length).toBe(1);
      const report = await prune(store, { providers, graceMs: 0 });
      expect(report.removed.map((b) => b.digest).sort()).toEqual([garbage.digest, young.digest, expired.digest].sort());
      for (const d of [img.manifest.digest, img.config.digest, img.layer.digest, leased.digest, cached.digest]) expect(await store.has(d)).toBe(true);
      expect((await fsck(store, { providers })).ok).toBe(true);

      await images.deleteImage("keep:1");
      await prune(store, { providers, graceMs: 0 });
      expect(await store.has(img.layer.digest)).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("fsck reports corrupt blobs and dangling references", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsb-fsck-"));
    try {
      const store = await openContentStore(root);
      const ok = await store.putBytes("fine");
      const bad = await store.putBytes("soon corrupt");
      const { writeFileSync } = await import("node:fs");
      writeFileSync(store.path(bad.digest), "tampered");
      const missing = "sha256:" + "0".repeat(64);
      const r = await fsck(store, { providers: [{ kind: "x", roots: async () => [ok.digest, missing as Digest] }] });
      expect(r.ok).toBe(false);
      expect(r.corrupt.map((c) => c.digest)).toEqual([bad.digest]);
      expect(r.dangling).toEqual([missing]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
