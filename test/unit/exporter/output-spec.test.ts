import { describe, expect, it } from "@jest/globals";
import { defaultCompression, parseOutputSpec, parseOutputSpecs } from "../../../src/exporter/index.js";

describe("parseOutputSpec", () => {
  it("reads the shorthands: a directory is local, - is a tar to stdout", () => {
    expect(parseOutputSpec("out/dir")).toEqual({ type: "local", dest: "out/dir" });
    expect(parseOutputSpec("-")).toEqual({ type: "tar", dest: "-" });
  });

  it("reads oci, docker, local and tar outputs", () => {
    const oci = parseOutputSpec("type=oci,dest=img.tar");
    expect(oci).toMatchObject({ type: "oci", dest: "img.tar", tar: true, names: [] });
    expect(oci.type === "oci" && oci.image).toEqual({
      compression: "gzip", level: undefined, force: false, ociMediaTypes: undefined, rewriteTimestamp: false, manifestAnnotations: {}, descriptorAnnotations: {},
    });
    expect(parseOutputSpec("type=oci,dest=layout,tar=false")).toMatchObject({ type: "oci", dest: "layout", tar: false });
    expect(parseOutputSpec("type=docker,dest=d.tar,name=app:1")).toMatchObject({ type: "docker", dest: "d.tar", names: ["app:1"] });
    expect(parseOutputSpec("type=docker")).toMatchObject({ type: "docker", dest: undefined, tar: true });
    expect(parseOutputSpec("type=local,dest=out")).toEqual({ type: "local", dest: "out" });
    expect(parseOutputSpec("type=tar,dest=-")).toEqual({ type: "tar", dest: "-" });
  });

  it("reads image and registry outputs with several names", () => {
    expect(parseOutputSpec("type=image,name=a,b,push=true")).toMatchObject({ type: "image", names: ["a", "b"], push: true, store: true });
    expect(parseOutputSpec('type=image,"name=a:1,b:2"')).toMatchObject({ type: "image", names: ["a:1", "b:2"], push: false });
    expect(parseOutputSpec("type=registry,name=localhost:5000/x:1")).toMatchObject({ type: "image", names: ["localhost:5000/x:1"], push: true });
  });

  it("keeps layers uncompressed by default only for outputs that just store the image locally", () => {
    const compression = (spec: string): string | undefined => {
      const o = parseOutputSpec(spec);
      return "image" in o ? o.image.compression : undefined;
    };
    // stored only: -t's image output, type=image without push, --load (type=docker without dest)
    expect(compression("type=image,name=a")).toBe("none");
    expect(compression("type=image,name=a,push=false")).toBe("none");
    expect(compression("type=docker")).toBe("none");
    expect(compression("type=image,name=a,oci-mediatypes=false")).toBe("none");
    // leaving the machine: pushes and archives keep gzip
    expect(compression("type=image,name=a,push=true")).toBe("gzip");
    expect(compression("type=registry,name=a")).toBe("gzip");
    expect(compression("type=oci,dest=o.tar")).toBe("gzip");
    expect(compression("type=oci,dest=dir,tar=false")).toBe("gzip");
    expect(compression("type=docker,dest=d.tar")).toBe("gzip");
    // an explicit choice is honoured everywhere; a level or force-compression asks for the usual gzip
    expect(compression("type=image,name=a,compression=gzip")).toBe("gzip");
    expect(compression("type=image,name=a,compression=zstd")).toBe("zstd");
    expect(compression("type=docker,compression=gzip")).toBe("gzip");
    expect(compression("type=registry,name=a,compression=uncompressed")).toBe("none");
    expect(compression("type=oci,dest=o.tar,compression=uncompressed")).toBe("none");
    expect(compression("type=image,name=a,compression-level=9")).toBe("gzip");
    expect(compression("type=image,name=a,force-compression=true")).toBe("gzip");
    expect(defaultCompression(true)).toBe("none");
    expect(defaultCompression(false)).toBe("gzip");
  });

  it("reads compression, media types and annotations", () => {
    const s = parseOutputSpec("type=oci,dest=o.tar,compression=zstd,compression-level=5,force-compression=true,annotation.org.opencontainers.image.title=t,annotation-manifest-descriptor.d=v,rewrite-timestamp=1");
    expect(s.type === "oci" && s.image).toEqual({
      compression: "zstd", level: 5, force: true, ociMediaTypes: undefined, rewriteTimestamp: true,
      manifestAnnotations: { "org.opencontainers.image.title": "t" }, descriptorAnnotations: { d: "v" },
    });
    const u = parseOutputSpec("type=image,name=x,compression=uncompressed,oci-mediatypes=false");
    expect(u.type === "image" && [u.image.compression, u.image.ociMediaTypes]).toEqual(["none", false]);
  });

  const bad: [string, RegExp][] = [
    ["", /empty/],
    ["dest=out", /type is missing/],
    ["type=ocii,dest=x", /unknown type "ocii" \(did you mean oci\?\)/],
    ["type=local", /dest is required/],
    ["type=oci", /dest is required/],
    ["type=local,dest=-", /standard output/],
    ["type=oci,dest=-,tar=false", /directory/],
    ["type=oci,dest=x,compresion=gzip", /no option "compresion" \(did you mean compression\?\)/],
    ["type=oci,dest=x,compression=brotli", /compression="brotli" is not supported/],
    ["type=oci,dest=x,compression=gzip,compression-level=12", /out of range/],
    ["type=oci,dest=x,compression=zstd,oci-mediatypes=false", /conflicts/],
    ["type=docker,dest=x.tar,compression=zstd", /zstd/],
    ["type=image,push=maybe", /not a boolean/],
    ["type=oci,dest=x,annotation-index.a=b", /no image index/],
    ["type=local,dest=x,annotation.a=b", /annotations do not apply/],
    ["type=oci,dest=x,dest=y", /given twice/],
    ['type=oci,"dest=x', /unterminated/],
    ["type=oci,dest=x,bogus", /not key=value/],
  ];
  for (const [spec, re] of bad) {
    it(`rejects ${JSON.stringify(spec)} with a usage error`, () => {
      let err: unknown;
      try {
        parseOutputSpec(spec);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: "TSB_USAGE", message: expect.stringMatching(re) });
      expect((err as { hint?: string }).hint).toBeTruthy();
    });
  }

  it("allows at most one output to standard output", () => {
    expect(parseOutputSpecs(["-", "out"])).toHaveLength(2);
    expect(() => parseOutputSpecs(["-", "type=oci,dest=-"])).toThrow(/more than one output/);
  });
});
