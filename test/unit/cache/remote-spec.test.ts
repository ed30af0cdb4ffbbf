import { describe, it, expect } from "@jest/globals";
import { parseCacheExportSpec, parseCacheImportSpec } from "../../../src/cache/remote/index.js";

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
      type: "registry", ref: "r/a:c", mode: "min", compression: "gzip", ociMediaTypes: true, cacheMounts: false, ignoreError: false,
    });
  });

  it("parses mode, compression, cache-mounts, ignore-error and local dest", () => {
    const s = parseCacheExportSpec("type=local,dest=/out,mode=max,compression=zstd,cache-mounts=true,ignore-error=true,oci-mediatypes=true");
    expect(s).toEqual({ type: "local", dest: "/out", tag: "latest", mode: "max", compression: "zstd", ociMediaTypes: true, cacheMounts: true, ignoreError: true });
    expect(parseCacheExportSpec("type=registry,ref=r/a,compression=uncompressed")).toMatchObject({ compression: "none" });
    expect(parseCacheExportSpec("type=inline")).toEqual({ type: "inline" });
  });

  it("rejects bad values", () => {
    expect(() => parseCacheExportSpec("type=registry,ref=r/a,mode=all")).toThrow(/mode="all" is not min or max/);
    expect(() => parseCacheExportSpec("type=registry,ref=r/a,compression=lz4")).toThrow(/compression="lz4"/);
    expect(() => parseCacheExportSpec("type=registry,ref=r/a,oci-mediatypes=false")).toThrow(/not supported/);
    expect(() => parseCacheExportSpec("type=inline,mode=max")).toThrow(/always mode=min/);
    expect(() => parseCacheExportSpec("type=registry,ref=r/a,cache-mounts=maybe")).toThrow(/not a boolean/);
    expect(() => parseCacheExportSpec("type=registry,ref=a,ref=b")).toThrow(/given twice/);
    expect(() => parseCacheExportSpec("type=s3")).toThrow(/unknown type "s3"/);
  });
});
