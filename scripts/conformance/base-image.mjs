// The conformance base image: the busybox rootfs tar of test/helpers/base-images.ts (busyboxRootfsTar), built by
// that very code (bundled on the fly with esbuild, so no jest and no second recipe), in the shared test cache.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const repo = resolve(import.meta.dirname, "../..");

/** Path of the busybox rootfs tar the tests use (built into TSBUILD_TEST_CACHE when missing). */
export async function busyboxRootfsTar() {
  const dir = mkdtempSync(join(tmpdir(), "tsb-conf-helper-"));
  try {
    const out = join(dir, "base-images.mjs");
    await build({ entryPoints: [join(repo, "test/helpers/base-images.ts")], outfile: out, bundle: true, platform: "node", format: "esm", target: "node20", logLevel: "error" });
    const mod = await import(pathToFileURL(out).href);
    return await mod.busyboxRootfsTar();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** sha256 (hex) of a file. */
export function fileSha256(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const tar = await busyboxRootfsTar();
  process.stdout.write(`${tar} sha256:${fileSha256(tar)}\n`);
}
