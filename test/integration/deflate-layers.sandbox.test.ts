/**
 * Layers gzipped by tsbuild-deflate (many independent gzip members) are read whole by tsbuild's own applyLayer and
 * by Go's gzip reader: an OCI image made of such layers is unpacked by umoci (which also checks every layer's
 * diff_id against the config) and copied by skopeo, and the files come out identical.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { applyLayer, exportLayer, type DiffSource, type LayerDescriptor } from "../../src/snapshot/index.js";
import { requireTool } from "../helpers/base-images.js";
import { isRootless, requireSession } from "../helpers/session.js";
import { dumpTree, tmp } from "../unit/snapshot/tree.js";

const MiB = 1 << 20;
let dir: string;
let tree: string;
let layer: LayerDescriptor;
let blobPath: string;

/** Every entry below `root`, parents first, as a DiffSource. */
function sourceOf(root: string, rels: readonly string[]): DiffSource {
  return { root, entries: rels.map((p) => ({ kind: "entry" as const, path: p, stat: lstatSync(join(root, p), { bigint: true }) })), xattrs: new Map() };
}

beforeAll(async () => {
  requireSession();
  for (const [t, pkg] of [["umoci", "umoci"], ["skopeo", "skopeo"]] as const) requireTool(t, pkg);
  dir = tmp("tsb-deflate-e2e-");
  tree = join(dir, "tree");
  mkdirSync(join(tree, "etc"), { recursive: true });
  mkdirSync(join(tree, "data"));
  const text = Buffer.from("the quick brown fox jumps over the lazy dog 0123456789\n".repeat(80_000));
  writeFileSync(join(tree, "etc", "motd"), "hello from a multi-member layer\n");
  writeFileSync(join(tree, "data", "text"), text); // ~4.4 MiB
  writeFileSync(join(tree, "data", "random"), randomFillSync(Buffer.alloc(3 * MiB + 17)));
  writeFileSync(join(tree, "data", "empty"), "");
  symlinkSync("../etc/motd", join(tree, "data", "motd-link"));
  const rels = ["data", "data/empty", "data/motd-link", "data/random", "data/text", "etc", "etc/motd"];
  blobPath = join(dir, "layer.tar.gz");
  layer = await exportLayer(sourceOf(tree, rels), blobPath, { compression: "gzip", gzipBackend: "libdeflate", sourceDateEpoch: 0 });
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The trees below `sub` by path, type and content (owners and modes are up to the unpacker). */
function contents(root: string, sub: readonly string[]): string[] {
  return dumpTree(root).filter((l) => sub.some((s) => l.startsWith(s))).map((l) => l.split(" ").slice(0, 2).join(" "));
}

describe("multi-member gzip layers from tsbuild-deflate", () => {
  it("are several gzip members (the blob is not one zlib stream)", () => {
    const blob = readFileSync(blobPath);
    // 7.4 MiB of tar: at least 8 members; every member starts with the gzip magic and deflate method
    let members = 0;
    for (let i = blob.indexOf("\x1f\x8b\x08", 0, "latin1"); i >= 0; i = blob.indexOf("\x1f\x8b\x08", i + 1, "latin1")) members++;
    expect(members).toBeGreaterThanOrEqual(8);
    expect(createHash("sha256").update(gunzipSync(blob)).digest("hex")).toBe(layer.diffId.slice("sha256:".length));
  });

  it("applyLayer unpacks them whole", async () => {
    const target = join(dir, "applied");
    mkdirSync(target);
    await applyLayer(blobPath, { mode: "flat", dir: target });
    expect(contents(target, ["data", "etc"])).toEqual(contents(tree, ["data", "etc"]));
  });

  it("umoci unpack (Go's gzip reader, diff_id checked) and skopeo copy read an image made of them", () => {
    const layout = join(dir, "layout");
    const blobs = join(layout, "blobs", "sha256");
    mkdirSync(blobs, { recursive: true });
    const put = (data: Buffer | string): { digest: string; size: number } => {
      const buf = Buffer.from(data);
      const hex = createHash("sha256").update(buf).digest("hex");
      writeFileSync(join(blobs, hex), buf);
      return { digest: `sha256:${hex}`, size: buf.length };
    };
    renameSync(blobPath, join(blobs, layer.digest.slice("sha256:".length)));
    blobPath = join(blobs, layer.digest.slice("sha256:".length));
    const config = put(JSON.stringify({
      architecture: "amd64", os: "linux", config: { Cmd: ["/bin/true"] },
      rootfs: { type: "layers", diff_ids: [layer.diffId] }, history: [{ created_by: "tsbuild test" }],
    }));
    const manifest = put(JSON.stringify({
      schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
    }));
    writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    writeFileSync(join(layout, "index.json"), JSON.stringify({
      schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": "t" } }],
    }));

    // skopeo copy into a second layout, then umoci unpack that one
    const copy = join(dir, "copy");
    const registriesD = join(dir, "registries.d");
    mkdirSync(join(registriesD, "sigstore"), { recursive: true });
    writeFileSync(join(registriesD, "default.yaml"), `default-docker:\n  lookaside: file://${join(registriesD, "sigstore")}\n`);
    execFileSync("skopeo", ["--registries.d", registriesD, "copy", "-q", `oci:${layout}:t`, `oci:${copy}:t`], { stdio: "pipe" });
    const bundle = join(dir, "bundle");
    execFileSync("umoci", ["unpack", ...(isRootless() ? ["--rootless"] : []), "--image", `${copy}:t`, bundle], { stdio: "pipe" });
    expect(contents(join(bundle, "rootfs"), ["data", "etc"])).toEqual(contents(tree, ["data", "etc"]));
  });
});
