#!/usr/bin/env node
// Makes an offline base image rootfs tar with the same recipe the tests use (test/helpers/base-images.ts) and
// prints its path: `busybox` (from Debian busybox-static) or `debian` (bookworm minbase via mmdebstrap, ~1 min).
// Usage: node scripts/base-image.mjs busybox|debian   →  /tmp/tsbuild-test-cache/busybox-rootfs.tar
import { build } from "esbuild";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const which = process.argv[2] ?? "busybox";
if (!["busybox", "debian"].includes(which)) {
  console.error("usage: node scripts/base-image.mjs busybox|debian");
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), "tsbuild-base-image-"));
try {
  const out = join(dir, "base-images.mjs");
  await build({
    entryPoints: [resolve(import.meta.dirname, "../test/helpers/base-images.ts")],
    outfile: out,
    bundle: true,
    format: "esm",
    platform: "node",
    packages: "external",
    logLevel: "warning",
  });
  const m = await import(out);
  console.log(which === "busybox" ? await m.busyboxRootfsTar() : await m.minbaseRootfsTar());
} finally {
  rmSync(dir, { recursive: true, force: true });
}
