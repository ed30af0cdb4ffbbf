import { describe, expect, it } from "@jest/globals";
import PQueue from "p-queue";
import { asDigest, isDigest, sha256 } from "../../../src/util/digest.js";
import { canonicalJson } from "../../../src/util/canonical-json.js";
import { suggest } from "../../../src/util/suggest.js";

describe("digest", () => {
  it("hashes and brands sha256", () => {
    expect(sha256("")).toBe("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(isDigest("sha256:abc")).toBe(false);
    expect(() => asDigest("md5:00")).toThrow(/expected a sha256 digest/);
  });
  it("canonical JSON sorts keys and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: [1, "x", null], c: undefined })).toBe('{"a":[1,"x",null],"b":1}');
  });
  it("suggests close keywords", () => {
    expect(suggest("RUNN", ["RUN", "COPY"])).toBe("RUN");
    expect(suggest("XYZZY", ["RUN", "COPY"])).toBeUndefined();
  });
  it("ESM-only dependencies load under jest", async () => {
    const q = new PQueue({ concurrency: 1 });
    expect(await q.add(async () => 42)).toBe(42);
  });
});
