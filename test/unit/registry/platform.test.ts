import { describe, it, expect } from "@jest/globals";
import { hostPlatform, parsePlatform, formatPlatform, selectManifest } from "../../../src/registry/platform.js";
import type { Descriptor } from "../../../src/image/types.js";
import type { Digest } from "../../../src/util/digest.js";

describe("platforms", () => {
  it.each([
    ["linux", "x64", undefined, "linux/amd64"], ["linux", "arm64", undefined, "linux/arm64"], ["linux", "arm", "6", "linux/arm/v6"],
    ["linux", "ia32", undefined, "linux/386"], ["linux", "ppc64", undefined, "linux/ppc64le"], ["win32", "x64", undefined, "windows/amd64"],
  ] as const)("host %s/%s → %s", (os, arch, armv, want) => {
    expect(formatPlatform(hostPlatform(os, arch, armv))).toBe(want);
  });
  it.each([
    ["linux/amd64", "linux/amd64"], ["linux/x86_64", "linux/amd64"], ["linux/aarch64", "linux/arm64"], ["linux/arm64/v8", "linux/arm64"],
    ["linux/armhf", "linux/arm/v7"], ["linux/arm/7", "linux/arm/v7"], ["arm64", "linux/arm64"], ["Linux/AMD64", "linux/amd64"],
  ] as const)("parses %s", (s, want) => {
    expect(formatPlatform(parsePlatform(s))).toBe(want);
  });
  it.each(["", "linux/", "a/b/c/d"])("rejects %j", (s) => {
    expect(() => parsePlatform(s)).toThrow(/invalid platform/);
  });

  const d = (n: number, os: string, architecture: string, variant?: string): Descriptor => ({
    mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${String(n).repeat(64).slice(0, 64)}` as Digest, size: n,
    platform: { os, architecture, ...(variant ? { variant } : {}) },
  });
  const list = [d(1, "linux", "amd64"), d(2, "linux", "arm64", "v8"), d(3, "linux", "arm", "v6"), d(4, "linux", "arm", "v7"), d(5, "unknown", "unknown")];
  it.each([
    ["linux/amd64", 1], ["linux/arm64", 2], ["linux/arm/v7", 4], ["linux/arm/v6", 3], ["linux/arm", 4], ["linux/s390x", undefined], ["windows/amd64", undefined],
  ] as const)("selects %s → %s", (want, size) => {
    expect(selectManifest(list, parsePlatform(want))?.size).toBe(size);
  });
  it("falls back to a lower ARM variant", () => {
    expect(selectManifest([d(3, "linux", "arm", "v6")], parsePlatform("linux/arm/v7"))?.size).toBe(3);
    expect(selectManifest([d(4, "linux", "arm", "v7")], parsePlatform("linux/arm/v6"))).toBeUndefined();
  });
});
