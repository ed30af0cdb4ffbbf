import { describe, it, expect } from "@jest/globals";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform } from "node:stream";
import { deriveVariant, lookupVariant, openContentStore, prune, pruneVariants, recordVariant } from "../../../src/store/index.js";

/** A deterministic transform: upper-cases ASCII; counts how often it ran. */
function upper(counter: { runs: number }): () => Transform {
  return () => {
    counter.runs++;
    return new Transform({ transform: (chunk: Buffer, _e, cb) => cb(null, Buffer.from(chunk.toString("latin1").toUpperCase(), "latin1")) });
  };
}

describe("blob variants", () => {
  it("derives a variant once, then finds it (also from another store handle)", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsb-variants-"));
    try {
      const store = await openContentStore(root);
      const src = await store.putBytes("hello variants");
      const counter = { runs: 0 };
      const a = await deriveVariant(store, src.digest, "upper", upper(counter));
      expect(a.created).toBe(true);
      expect((await store.readBytes(a.digest)).toString()).toBe("HELLO VARIANTS");
      const other = await openContentStore(root);
      const b = await deriveVariant(other, src.digest, "upper", upper(counter));
      expect(b).toEqual({ digest: a.digest, size: a.size, created: false });
      expect(counter.runs).toBe(1);
      expect(await lookupVariant(other, src.digest, "upper")).toEqual({ digest: a.digest, size: a.size });
      expect(await lookupVariant(other, src.digest, "lower")).toBeUndefined();
      expect(readdirSync(join(root, "variants"))).toEqual([`${src.digest.slice(7)}.upper`]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("treats an entry whose blob is gone as absent, and prune drops it", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsb-variants-"));
    try {
      const store = await openContentStore(root);
      const src = await store.putBytes("source");
      const kept = await store.putBytes("kept");
      await recordVariant(store, src.digest, "gzip", kept.digest);
      const gone = await store.putBytes("gone");
      await recordVariant(store, src.digest, "zstd", gone.digest);
      // An unreferenced blob past the grace period: prune deletes it, and with it the entry naming it.
      const report = await prune(store, { all: true, graceMs: 0, providers: [{ kind: "test", roots: async () => [src.digest, kept.digest] }] });
      expect(report.removed.map((r) => r.digest)).toEqual([gone.digest]);
      expect(await lookupVariant(store, src.digest, "zstd")).toBeUndefined();
      expect(readdirSync(join(root, "variants")).sort()).toEqual([`${src.digest.slice(7)}.gzip`]);
      // A garbage entry (not a digest) is absent too, and pruned.
      writeFileSync(join(root, "variants", `${src.digest.slice(7)}.bad`), "nonsense");
      expect(await lookupVariant(store, src.digest, "bad")).toBeUndefined();
      expect(await pruneVariants(store)).toBe(1);
      expect(await lookupVariant(store, src.digest, "gzip")).toEqual({ digest: kept.digest, size: kept.size });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("refuses to derive from a damaged source blob and records nothing", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsb-variants-"));
    try {
      const store = await openContentStore(root);
      const src = await store.putBytes("original");
      writeFileSync(store.path(src.digest), "tampered");
      await expect(deriveVariant(store, src.digest, "upper", upper({ runs: 0 }))).rejects.toMatchObject({ code: "TSB_STORE_CORRUPT" });
      expect(await lookupVariant(store, src.digest, "upper")).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
