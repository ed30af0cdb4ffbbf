import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { createReadStream, createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import tar from "tar-stream";
import { importRootfs, loadArchive, openImageStore, resolveImage, writeDockerArchive, writeOciArchive, writeOciLayoutDir, type ImageStore } from "../../src/image/index.js";
import { sha256 } from "../../src/util/digest.js";
import { busyboxRootfsTar, requireTool } from "../helpers/base-images.js";

let work: string;
let images: ImageStore;
let imageId: string;
let layerDigest: string;
const rootless = process.getuid?.() !== 0;

beforeAll(async () => {
  requireTool("skopeo", "skopeo");
  requireTool("umoci", "umoci");
  work = mkdtempSync(join(tmpdir(), "tsb-local-images-"));
  images = await openImageStore(join(work, "root"));
  const out = await importRootfs(images.store, createReadStream(await busyboxRootfsTar()));
  await images.putImage("localhost:5000/busybox:1", out.manifest);
  imageId = out.imageId;
  layerDigest = out.layer.digest;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function save(kind: "docker" | "oci", file: string): Promise<void> {
  const rec = await images.getImage("localhost:5000/busybox:1");
  const out = createWriteStream(file);
  const list = [{ target: rec.target, names: [rec.name] }];
  await (kind === "docker" ? writeDockerArchive(images.store, list, out) : writeOciArchive(images.store, list, out));
  await finished(out);
}

function skopeo(...args: string[]): string {
  return execFileSync("skopeo", ["--insecure-policy", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

async function blobCount(): Promise<number> {
  let n = 0;
  for await (const _ of images.store.list()) n++;
  return n;
}

describe("local images with real validators", () => {
  it("import → save: skopeo accepts docker-archive and oci-archive", async () => {
    const d = join(work, "d.tar");
    const o = join(work, "o.tar");
    await save("docker", d);
    await save("oci", o);
    const di = JSON.parse(skopeo("inspect", `docker-archive:${d}`)) as { Layers: string[]; Architecture: string };
    expect(di.Architecture).toBeTruthy();
    const cfg = JSON.parse(skopeo("inspect", "--config", `docker-archive:${d}`)) as { rootfs: { diff_ids: string[] }; history: { created_by: string }[] };
    expect(cfg.history[0]!.created_by).toBe("tsbuild import");
    expect(di.Layers).toEqual(cfg.rootfs.diff_ids);
    const oi = JSON.parse(skopeo("inspect", `oci-archive:${o}`)) as { Layers: string[] };
    expect(oi.Layers).toEqual([layerDigest]);
    expect(sha256(skopeo("inspect", "--raw", "--config", `oci-archive:${o}`))).toBe(imageId);
  });

  it("skopeo-produced docker-archive loads back with identical image ID and layers; own archives round-trip", async () => {
    const layout = join(work, "layout");
    const rec = await images.getImage("localhost:5000/busybox:1");
    await writeOciLayoutDir(images.store, [{ target: rec.target, names: [rec.name] }], layout);
    const sk = join(work, "skopeo.tar");
    skopeo("copy", `oci:${layout}:1`, `docker-archive:${sk}:localhost/fromskopeo:2`);
    const loaded = await loadArchive(images, createReadStream(sk));
    expect(loaded[0]!.names).toEqual(["localhost/fromskopeo:2"]);
    const back = await images.getImage("localhost/fromskopeo:2");
    expect(back.imageId).toBe(imageId);
    const r = await resolveImage(images.store, back.target);
    expect([layerDigest, r.config.rootfs.diff_ids[0]]).toContain(r.manifest.layers[0]!.digest);

    for (const kind of ["docker", "oci"] as const) {
      const f = join(work, `rt-${kind}.tar`);
      await save(kind, f);
      await images.deleteImage("localhost:5000/busybox:1");
      const l = await loadArchive(images, createReadStream(f));
      expect(l[0]!.names).toEqual(["localhost:5000/busybox:1"]);
      expect((await images.getImage("localhost:5000/busybox:1")).imageId).toBe(imageId);
    }
  });

  it("umoci unpacks a saved OCI layout and shows the files", async () => {
    const layout = join(work, "umoci-layout");
    const rec = await images.getImage("localhost:5000/busybox:1");
    await writeOciLayoutDir(images.store, [{ target: rec.target, names: [rec.name] }], layout);
    const bundle = join(work, "bundle");
    execFileSync("umoci", ["unpack", ...(rootless ? ["--rootless"] : []), "--image", `${layout}:1`, bundle], { stdio: "pipe" });
    expect(existsSync(join(bundle, "rootfs", "bin", "busybox"))).toBe(true);
    expect(readFileSync(join(bundle, "rootfs", "etc", "passwd"), "utf8")).toContain("root:x:0:0");
  });

  describe("hostile archives are rejected and leave nothing behind", () => {
    async function archive(entries: { name: string; data?: string; type?: "symlink" | "file"; linkname?: string; size?: number }[]): Promise<Buffer> {
      const pack = tar.pack();
      for (const e of entries) {
        if (e.type === "symlink") pack.entry({ name: e.name, type: "symlink", linkname: e.linkname! });
        else pack.entry({ name: e.name }, e.data ?? "");
      }
      pack.finalize();
      const chunks: Buffer[] = [];
      for await (const c of pack) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    }
    const layoutIndex = (digest: string, size: number) =>
      JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest, size, annotations: { "io.containerd.image.name": "localhost/evil:1" } }] });
    const cases: [string, () => Promise<Buffer>, string, object?][] = [
      ["path traversal", () => archive([{ name: "../../etc/evil", data: "x" }, { name: "index.json", data: "{}" }]), "TSB_IMAGE_ARCHIVE_UNSAFE"],
      ["absolute symlink", () => archive([{ name: "index.json", type: "symlink", linkname: "/etc/passwd" }]), "TSB_IMAGE_ARCHIVE_UNSAFE"],
      [
        "digest mismatch",
        () => archive([{ name: "oci-layout", data: '{"imageLayoutVersion":"1.0.0"}' }, { name: `blobs/sha256/${sha256("honest").slice(7)}`, data: "forged" }, { name: "index.json", data: layoutIndex(sha256("honest"), 6) }]),
        "TSB_IMAGE_ARCHIVE_UNSAFE",
      ],
      ["huge entry", () => archive([{ name: "blobs/sha256/" + "a".repeat(64), data: "y".repeat(5000) }]), "TSB_IMAGE_ARCHIVE_UNSAFE", { maxEntryBytes: 4096 }],
      ["not an image archive", () => archive([{ name: "hello.txt", data: "hi" }]), "TSB_IMAGE_ARCHIVE_INVALID"],
    ];
    for (const [what, make, code, limits] of cases) {
      it(what, async () => {
        const before = await blobCount();
        const names = (await images.listImages()).map((r) => r.name);
        await expect(loadArchive(images, Readable.from([await make()]), limits)).rejects.toMatchObject({ code });
        expect(await blobCount()).toBe(before);
        expect((await images.listImages()).map((r) => r.name)).toEqual(names);
        expect(readdirSync(images.store.layout.ingest)).toEqual([]);
      });
    }
  });
});
