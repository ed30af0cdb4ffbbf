/**
 * Locally stored images keep built layers uncompressed (as Docker's and Buildah's stores do); the bytes are
 * compressed once, when the image leaves the machine. `build -t` writes plain tar layers; `tsbuild push` compresses
 * them to gzip — the very manifest `build --push` of the same build pushes — and remembers it, so a second push
 * compresses nothing; an OCI archive of a build FROM such an image holds only gzip layers; save + load round-trip.
 */
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { E2eWorld, ok, tool, toOciDir, unpack, runBundle } from "../helpers/e2e.js";

const EPOCH = "1700000000";
const GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
const PLAIN = "application/vnd.oci.image.layer.v1.tar";

let world: E2eWorld;
let ctx: string;

beforeAll(async () => {
  world = await E2eWorld.start(["busybox"]);
  ctx = world.tmp("ctx-");
  mkdirSync(join(ctx, "dir"));
  // Compressible and incompressible content, so gzip and plain layers differ clearly in size.
  writeFileSync(join(ctx, "dir", "text.txt"), "tsbuild stores layers uncompressed\n".repeat(4000));
  writeFileSync(join(ctx, "dir", "random.bin"), Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 2654435761) >>> 24)));
  writeFileSync(join(ctx, "Dockerfile"), `FROM ${world.ref("busybox:latest")}\nRUN echo built > /built.txt\nCOPY dir/ /data/\n`);
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

/** The stored manifest of `name` in `root` (read from the image db and the blob store, as a reader of the root would). */
function storedManifest(root: string, name: string): { digest: string; manifest: any } {
  const db = JSON.parse(readFileSync(join(root, "images", "db.json"), "utf8"));
  const rec = db.images[name];
  if (!rec) throw new Error(`${name} is not in the image db: ${Object.keys(db.images).join(", ")}`);
  const digest: string = rec.target.digest;
  return { digest, manifest: JSON.parse(readFileSync(blobPath(root, digest), "utf8")) };
}

function blobPath(root: string, digest: string): string {
  return join(root, "blobs", "sha256", digest.slice("sha256:".length));
}

/** `variants/` entries with their inode and mtime: a re-compression renames a new file over the entry. */
function variantFiles(root: string): Record<string, string> {
  const dir = join(root, "variants");
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir)) {
    const st = statSync(join(dir, f), { bigint: true });
    out[f] = `${st.ino}:${st.mtimeNs}`;
  }
  return out;
}

function rawManifest(ref: string): { digest: string; manifest: any } {
  const raw = tool("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${ref}`]);
  const digest = `sha256:${createHash("sha256").update(raw).digest("hex")}`;
  return { digest, manifest: JSON.parse(raw) };
}

describe("images stored with -t keep built layers uncompressed", () => {
  it("build -t stores plain tar layers; tsbuild push compresses them to what build --push pushes, once", async () => {
    const env = { SOURCE_DATE_EPOCH: EPOCH };
    ok(await world.run(["build", "--progress=plain", "-t", "app", ctx], { env }), "build -t app");
    const { manifest } = storedManifest(world.root, "docker.io/library/app:latest");
    const types = manifest.layers.map((l: any) => l.mediaType);
    // busybox came from the registry gzip-compressed and stays so; the RUN and COPY layers are plain tars
    expect(types).toEqual([GZIP, PLAIN, PLAIN]);
    for (const l of manifest.layers.slice(1)) {
      const head = readFileSync(blobPath(world.root, l.digest)).subarray(0, 512);
      expect(head.subarray(257, 262).toString("latin1")).toBe("ustar"); // a tar header, not gzip (1f 8b)
    }

    const pushed = ok(await world.run(["push", "app", world.ref("app:pushed")]), "tsbuild push");
    expect(pushed.stderr).toMatch(/The push refers to repository/);
    const remote = rawManifest(world.ref("app:pushed"));
    expect(remote.manifest.layers.map((l: any) => l.mediaType)).toEqual([GZIP, GZIP, GZIP]);
    expect(pushed.stdout.trim()).toBe(remote.digest);
    expect(remote.manifest.config).toEqual(manifest.config);
    expect(remote.manifest.layers[0]).toEqual(manifest.layers[0]);
    for (const i of [1, 2]) expect(remote.manifest.layers[i].size).toBeLessThan(manifest.layers[i].size);
    // the stored image itself is unchanged
    expect(storedManifest(world.root, "docker.io/library/app:latest").manifest).toEqual(manifest);

    // The same build pushed directly, on a fresh root: byte-identical manifest, so the same digest.
    const fresh = join(world.tmp("fresh-"), "root");
    const direct = ok(await world.run(["build", "--progress=plain", "-t", world.ref("app:direct"), "--push", ctx], { root: fresh, env }), "build --push");
    expect(direct.stderr).toMatch(/pushing/);
    expect(rawManifest(world.ref("app:direct")).digest).toBe(remote.digest);

    // A second push compresses nothing: every variant entry stays the very file it was.
    const before = variantFiles(world.root);
    expect(Object.keys(before)).toHaveLength(2);
    const again = ok(await world.run(["push", "app", world.ref("app:again")]), "second tsbuild push");
    expect(again.stdout.trim()).toBe(remote.digest);
    expect(variantFiles(world.root)).toEqual(before);
  }, 240_000);

  it("an OCI archive of a build FROM the stored uncompressed image holds only gzip layers", async () => {
    const child = world.tmp("child-");
    writeFileSync(join(child, "Dockerfile"), "FROM app\nRUN cat /built.txt > /child.txt\n");
    const out = join(world.tmp("oci-"), "image.tar");
    ok(await world.run(["build", "--progress=plain", "-o", `type=oci,dest=${out}`, child]), "build -o type=oci");
    const raw = JSON.parse(tool("skopeo", ["inspect", "--raw", `oci-archive:${out}`]));
    expect(raw.layers.map((l: any) => l.mediaType)).toEqual([GZIP, GZIP, GZIP, GZIP]);
    const dir = toOciDir(`oci-archive:${out}`, join(world.tmp("layout-"), "oci"));
    const bundle = unpack(dir, join(world.tmp("bundle-"), "b"));
    expect(readFileSync(join(bundle, "rootfs", "child.txt"), "utf8")).toBe("built\n");
    expect(runBundle(bundle, ["cat", "/data/text.txt"]).stdout).toContain("tsbuild stores layers uncompressed");
  }, 240_000);

  it("tsbuild save + load round-trips an image with uncompressed layers", async () => {
    const dir = world.tmp("save-");
    for (const format of ["docker", "oci"]) {
      const archive = join(dir, `app-${format}.tar`);
      ok(await world.run(["save", "--format", format, "-o", archive, "app"]), `save --format ${format}`);
      const other = join(dir, `root-${format}`);
      ok(await world.run(["load", "-i", archive], { root: other }), `load ${format}`);
      const images = ok(await world.run(["images", "--no-trunc"], { root: other })).stdout;
      const id = storedManifest(world.root, "docker.io/library/app:latest").manifest.config.digest;
      expect(images).toContain(id);
      // The loaded image is usable as a base: a build FROM it runs on its layers.
      const c = join(dir, `ctx-${format}`);
      mkdirSync(c);
      writeFileSync(join(c, "Dockerfile"), "FROM app\nRUN test -f /data/random.bin && cat /built.txt > /again.txt\n");
      ok(await world.run(["build", "--progress=plain", "-t", "again", c], { root: other }), `build FROM loaded (${format})`);
    }
  }, 240_000);
});
