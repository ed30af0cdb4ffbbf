/** Without a buildable tsbuild-deflate (no libdeflate-dev), `auto` gzip falls back to pigz, once per process. */
import { describe, expect, it, jest } from "@jest/globals";
import { gunzipSync } from "node:zlib";

delete process.env.TSBUILD_DEFLATE; // a prebuilt binary would skip the build this test makes fail
let attempts = 0;
const real = await import("../../../src/util/native-build.js");
jest.unstable_mockModule("../../../src/util/native-build.js", () => ({
  ...real,
  buildNative: () => {
    attempts++;
    throw new real.NativeBuildError("compile", "cannot compile tsbuild-deflate with cc: libdeflate.h: No such file or directory", { detail: "libdeflate.h" });
  },
}));
const { createCompressor, gzipBackendStatus } = await import("../../../src/snapshot/compress.js");

async function gzip(stream: ReturnType<typeof createCompressor>, input: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  stream.on("data", (b: Buffer) => out.push(b));
  const done = new Promise((resolve, reject) => stream.on("end", resolve).on("error", reject));
  stream.end(input);
  await done;
  return Buffer.concat(out);
}

describe("gzip backend fallback", () => {
  it("uses pigz when tsbuild-deflate cannot be built, tries the build once, and says why", async () => {
    const input = Buffer.from("fallback ".repeat(50_000));
    const auto = await gzip(createCompressor("gzip", 6), input);
    const pigz = await gzip(createCompressor("gzip", 6, { gzip: "pigz" }), input);
    expect(auto.equals(pigz)).toBe(true);
    expect(gunzipSync(auto).equals(input)).toBe(true);
    await gzip(createCompressor("gzip", 6), input);
    const status = gzipBackendStatus();
    expect(status).toMatchObject({ backend: "pigz", reason: expect.stringContaining("libdeflate.h") });
    expect(status.hint).toContain("libdeflate-dev");
    expect(attempts).toBe(1);
  });

  it("the explicit libdeflate backend fails with TSB_LAYER_COMPRESS naming the package", () => {
    let made: ReturnType<typeof createCompressor> | undefined;
    try {
      expect(() => (made = createCompressor("gzip", 6, { gzip: "libdeflate" }))).toThrow(
        expect.objectContaining({ code: "TSB_LAYER_COMPRESS", hint: expect.stringContaining("libdeflate-dev") }),
      );
    } finally {
      made?.destroy(); // a compressor that was made after all must not keep jest alive
    }
  });
});
