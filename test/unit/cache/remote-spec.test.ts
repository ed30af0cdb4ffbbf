import { describe, it, expect } from "@jest/globals";
import { parseCacheExportSpec, parseCacheImportSpec } from "../../../src/cache/remote/index.js";
import { collectCacheConfig } from "../../../src/cache/remote/export.js";
import type { BuildRef, RefManager } from "../../../src/cache/index.js";
import type { Digest } from "../../../src/util/digest.js";

describe("--cache-from specs", () => {
  it("parses registry and local sources, and a bare ref as a registry", () => {
    expect(parseCacheImportSpec("type=registry,ref=reg.example/app:cache")).toEqual({ type: "registry", ref: "reg.example/app:cache" });
    expect(parseCacheImportSpec("reg.example/app:cache")).toEqual({ type: "registry", ref: "reg.example/app:cache" });
    expect(parseCacheImportSpec("type=local,src=/c")).toEqual({ type: "local", src: "/c", tag: "latest" });
    expect(parseCacheImportSpec("type=local,src=/c,tag=x")).toEqual({ type: "local", src: "/c", tag: "x" });
  });

  it("rejects unknown types, unknown options and missing values with a usage error", () => {
    expect(() => parseCacheImportSpec("type=gha")).toThrow(/unknown type "gha"/);
    expect(() => parseCacheImportSpec("type=registry,ref=a/b,mode=max")).toThrow(/has no option "mode"/);
    expect(() => parseCacheImportSpec("type=local")).toThrow(/src is required/);
    try {
      parseCacheImportSpec("type=registry");
    } catch (err) {
      expect((err as { code: string }).code).toBe("TSB_USAGE");
      expect((err as { hint: string }).hint).toMatch(/--cache-from/);
    }
  });
});

describe("--cache-to specs", () => {
  it("defaults to mode=min and gzip", () => {
    expect(parseCacheExportSpec("type=registry,ref=r/a:c")).toEqual({
      type: "registry", ref: "r/a:c", mode: "min", compression: "gzip", force: false, ociMediaTypes: true, cacheMounts: false, ignoreError: false,
    });
  });

  it("parses mode, compression, cache-mounts, ignore-error and local dest", () => {
    const s = parseCacheExportSpec("type=local,dest=/out,mode=max,compression=zstd,cache-mounts=true,ignore-error=true,oci-mediatypes=true");
    expect(s).toEqual({ type: "local", dest: "/out", tag: "latest", mode: "max", compression: "zstd", force: false, ociMediaTypes: true, cacheMounts: true, ignoreError: true });
    expect(parseCacheExportSpec("type=registry,ref=r/a,compression=uncompressed")).toMatchObject({ compression: "none" });
    expect(parseCacheExportSpec("type=inline")).toEqual({ type: "inline" });
  });

  it("parses compression-level and force-compression", () => {
    expect(parseCacheExportSpec("type=registry,ref=r/a,compression=zstd,compression-level=12,force-compression=true")).toMatchObject({ compression: "zstd", level: 12, force: true });
    expect(parseCacheExportSpec("type=registry,ref=r/a,compression-level=9")).toMatchObject({ compression: "gzip", level: 9, force: false });
  });

  it("rejects bad values", () => {
    expect(() => parseCacheExportSpec("type=registry,ref=r/a,mode=all")).toThrow(/mode="all" is not min or max/);
    expect(() => parseCacheExportSpec("type=registry,ref=r/a,compression-level=10")).toThrow(/compression-level="10" is out of range/);
    expect(() => parseCacheExportSpec("type=registry,ref=r/a,compression=zstd,compression-level=0")).toThrow(/compression-level="0" is out of range/);
    expect(() => parseCacheExportSpec("type=registry,ref=r/a,compression=uncompressed,compression-level=3")).toThrow(/does not apply/);
    expect(() => parseCacheExportSpec("type=registry,ref=r/a,force-compression=yes!")).toThrow(/not a boolean/);
    expect(() => parseCacheExportSpec("type=registry,ref=r/a,compression=lz4")).toThrow(/compression="lz4"/);
    expect(() => parseCacheExportSpec("type=registry,ref=r/a,oci-mediatypes=false")).toThrow(/not supported/);
    expect(() => parseCacheExportSpec("type=inline,mode=max")).toThrow(/always mode=min/);
    expect(() => parseCacheExportSpec("type=registry,ref=r/a,cache-mounts=maybe")).toThrow(/not a boolean/);
    expect(() => parseCacheExportSpec("type=registry,ref=a,ref=b")).toThrow(/given twice/);
    expect(() => parseCacheExportSpec("type=s3")).toThrow(/unknown type "s3"/);
  });
});

describe("cache export compression", () => {
  it("passes compression, level and force to every layer export", async () => {
    const seen: unknown[] = [];
    const layer = (n: number) => ({ snapshot: `s${n}`, created: "2026-01-01T00:00:00Z" });
    const ref = { layers: [layer(1), layer(2)] } as unknown as BuildRef;
    const refs = {
      exportLayer: async (_r: BuildRef, i: number, opts: unknown) => {
        seen.push(opts);
        return { diffId: `sha256:${String(i).repeat(64)}`, blob: { digest: `sha256:${String(i + 5).repeat(64)}`, size: 1, mediaType: "application/vnd.oci.image.layer.v1.tar+zstd" }, empty: false };
      },
    } as unknown as RefManager;
    const key = `sha256:${"a".repeat(64)}` as Digest;
    const record = { key, opDigest: key, deps: [] };
    const state = { steps: [{ digest: "v", name: "RUN x", cacheKey: key, cached: false, record }], results: new Map([[key, ref]]), final: ref };
    await collectCacheConfig(state, "max", { compression: "zstd", level: 12, force: true }, { refs });
    expect(seen).toEqual([{ compression: "zstd", level: 12, force: true }, { compression: "zstd", level: 12, force: true }]);
    seen.length = 0;
    await collectCacheConfig(state, "max", "gzip", { refs });
    expect(seen).toEqual([{ compression: "gzip" }, { compression: "gzip" }]);
  });
});
