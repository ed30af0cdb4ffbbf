import { describe, it, expect } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { importRootfs, openImageStore, writeImage } from "../../../src/image/index.js";
import { tinyRootfsTar } from "../../helpers/rootfs.js";

describe("image db", () => {
  it("normalizes names, tags, finds by ID prefix and removes by name or ID", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsb-imgdb-"));
    try {
      const images = await openImageStore(root);
      const img = await importRootfs(images.store, Readable.from([await tinyRootfsTar()]), { created: new Date("2024-01-01T00:00:00Z") });
      const rec = await images.putImage("busybox", img.manifest);
      expect(rec.name).toBe("docker.io/library/busybox:latest");
      expect(rec.imageId).toBe(img.imageId);
      expect(rec.created).toBe("2024-01-01T00:00:00.000Z");
      await images.tagImage("busybox:latest", "localhost:5000/bb:1");
      expect((await images.listImages()).map((r) => r.name)).toEqual(["docker.io/library/busybox:latest", "localhost:5000/bb:1"]);
      expect((await images.getImage(img.imageId.slice(7, 19))).imageId).toBe(img.imageId);
      expect((await images.getImage(`localhost:5000/bb@${img.manifest.digest}`)).name).toBe("localhost:5000/bb:1");
      await expect(images.getImage("nope")).rejects.toMatchObject({ code: "TSB_IMAGE_NOT_FOUND" });
      expect((await images.deleteImage("docker.io/library/busybox")).length).toBe(1);
      await images.tagImage("localhost:5000/bb:1", "x:2");
      expect((await images.deleteImage(img.imageId.slice(7, 15))).length).toBe(2);
      expect(await images.listImages()).toEqual([]);
      // writeImage is deterministic: same config and layers give the same manifest digest.
      const cfg = { architecture: "amd64", os: "linux", rootfs: { type: "layers" as const, diff_ids: [img.diffId] } };
      const a = await writeImage(images.store, { config: cfg, layers: [img.layer] });
      const b = await writeImage(images.store, { config: cfg, layers: [img.layer] }, { mediaTypes: "oci" });
      expect(a.manifest.digest).toBe(b.manifest.digest);
      const d = await writeImage(images.store, { config: cfg, layers: [img.layer] }, { mediaTypes: "docker" });
      expect(d.manifest.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
      expect((await images.store.readJson<{ layers: { mediaType: string }[] }>(d.manifest.digest)).layers[0]!.mediaType).toBe("application/vnd.docker.image.rootfs.diff.tar.gzip");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("import rejects input that is not a tar", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsb-imgdb-"));
    try {
      const images = await openImageStore(root);
      await expect(importRootfs(images.store, Readable.from([Buffer.alloc(2048, 65)]))).rejects.toMatchObject({ code: "TSB_IMAGE_ARCHIVE_INVALID" });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
