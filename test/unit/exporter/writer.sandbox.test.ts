import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { createWriteStream, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { commitImage, type CommittedImage } from "../../../src/exporter/index.js";
import { writeOciArchive, writeOciLayoutDir, type Manifest } from "../../../src/image/index.js";
import type { ProgressEvent } from "../../../src/progress/index.js";
import { sha256 } from "../../../src/util/digest.js";
import { requireTool } from "../../helpers/base-images.js";
import { isRootless, requireSession } from "../../helpers/session.js";
import { appImage, buildApp, openFixture, skopeo, type ExportFixture } from "./fixture.js";

const EPOCH = 1_700_000_000;
let fx: ExportFixture;
let work: string;

beforeAll(async () => {
  requireSession();
  requireTool("skopeo", "skopeo");
  requireTool("umoci", "umoci");
  requireTool("runc", "runc");
  fx = await openFixture();
  work = mkdtempSync(join(tmpdir(), "tsb-export-out-"));
});
afterAll(async () => {
  await fx?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function ociArchive(img: CommittedImage, name: string): Promise<string> {
  const file = join(work, `${name}.tar`);
  const out = createWriteStream(file);
  await writeOciArchive(fx.store, [{ target: img.manifest, names: [`localhost/${name}:1`] }], out);
  await finished(out);
  return file;
}

/** Entries of a gzip layer blob: name → [mode, uid, gid]. */
async function layerEntries(digest: string): Promise<Map<string, [number, number, number, string]>> {
  const out = new Map<string, [number, number, number, string]>();
  const extract = tar.extract();
  (await fx.store.openRead(digest as never)).pipe(createGunzip()).pipe(extract);
  for await (const e of extract) {
    out.set(e.header.name, [e.header.mode ?? 0, e.header.uid ?? 0, e.header.gid ?? 0, e.header.type ?? "file"]);
    e.resume();
  }
  return out;
}

describe("commitImage", () => {
  let img: CommittedImage;
  const events: ProgressEvent[] = [];

  it("writes layers, config and manifest that skopeo accepts; drops the unchanged layer and marks its history", async () => {
    const ref = await buildApp(fx);
    img = await commitImage({ ref, image: appImage(fx), refs: fx.refs, store: fx.store, sourceDateEpoch: EPOCH, progress: (e) => events.push(e) });
    expect(img.layers).toHaveLength(3);
    expect(img.manifest.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(sha256(img.configBytes)).toBe(img.config.digest);
    expect(sha256(img.manifestBytes)).toBe(img.manifest.digest);
    const file = await ociArchive(img, "app");
    const info = JSON.parse(skopeo("inspect", `oci-archive:${file}`)) as { Layers: string[]; Env: string[]; Labels: Record<string, string> };
    expect(info.Layers).toEqual(img.layers.map((l) => l.descriptor.digest));
    expect(info.Labels).toEqual({ a: "b" });
    const cfg = JSON.parse(skopeo("inspect", "--config", `oci-archive:${file}`)) as {
      created: string; config: { Cmd: string[]; WorkingDir: string }; rootfs: { diff_ids: string[] };
      history: { created: string; created_by: string; empty_layer?: boolean }[];
    };
    expect(cfg.config).toMatchObject({ Cmd: ["/app/hello.sh"], WorkingDir: "/app" });
    expect(cfg.rootfs.diff_ids).toEqual(img.layers.map((l) => l.diffId));
    expect(cfg.created).toBe("2023-11-14T22:13:20Z");
    const marks = cfg.history.map((h) => [h.created_by, h.empty_layer ?? false]);
    expect(marks).toEqual([
      ["tsbuild import", false], ["WORKDIR /app", true], ["COPY . /app # buildkit", false],
      ["RUN /bin/sh -c true # buildkit", true], ["RUN /bin/sh -c echo x > data/x # buildkit", false], ['CMD ["/app/hello.sh"]', true],
    ]);
    expect(cfg.history[0]!.created).toBe("2023-01-01T00:00:00Z");
    expect(cfg.history.slice(1).every((h) => h.created === "2023-11-14T22:13:20Z")).toBe(true);
    // Go-style bytes: `>` escaped, top-level keys sorted
    expect(img.configBytes.toString()).toContain("echo x \\u003e data/x");
    expect(Object.keys(JSON.parse(img.configBytes.toString()) as object)).toEqual(["architecture", "config", "created", "history", "os", "rootfs"]);
    const ids = events.filter((e) => e.type === "vertex.progress").map((e) => (e as { id: string }).id);
    expect(ids).toContain(`exporting layer ${img.layers[1]!.descriptor.digest}`);
    expect(events[0]!.type).toBe("vertex.started");
    expect(events.at(-1)!.type).toBe("vertex.done");
  });

  it("keeps modes and owners in the layer, and umoci + runc run the image", async () => {
    const entries = await layerEntries(img.layers[1]!.descriptor.digest);
    expect(entries.get("app/secret")).toEqual([0o600, 1000, 50, "file"]);
    expect(entries.get("app/hello.sh")).toEqual([0o750, 0, 0, "file"]);
    expect(entries.get("app/data/")).toEqual([0o755, 1000, 1000, "directory"]);
    expect(entries.get("app/run")?.[3]).toBe("symlink");

    const layout = join(work, "layout");
    await writeOciLayoutDir(fx.store, [{ target: img.manifest, names: ["localhost/app:1"] }], layout);
    const bundle = join(work, "bundle");
    const rootless = isRootless();
    execFileSync("umoci", ["unpack", ...(rootless ? ["--rootless"] : []), "--image", `${layout}:1`, bundle], { stdio: "pipe" });
    const rootfs = join(bundle, "rootfs");
    expect(lstatSync(join(rootfs, "app/hello.sh")).mode & 0o7777).toBe(0o750);
    expect(lstatSync(join(rootfs, "app/secret")).mode & 0o7777).toBe(0o600);
    expect(readlinkSync(join(rootfs, "app/run"))).toBe("hello.sh");
    expect(readFileSync(join(rootfs, "app/data/x"), "utf8")).toBe("x\n");
    if (!rootless) expect([lstatSync(join(rootfs, "app/secret")).uid, lstatSync(join(rootfs, "app/secret")).gid]).toEqual([1000, 50]);

    const configPath = join(bundle, "config.json");
    const spec = JSON.parse(readFileSync(configPath, "utf8")) as { process: { terminal: boolean; args: string[] } };
    spec.process.terminal = false;
    expect(spec.process.args).toEqual(["/app/hello.sh"]);
    writeFileSync(configPath, JSON.stringify(spec));
    const state = mkdtempSync(join(tmpdir(), "tsb-runc-"));
    try {
      const out = execFileSync("runc", ["--root", state, ...(rootless ? ["--rootless", "true"] : []), "run", "-b", bundle, `tsb-export-${process.pid}`], {
        encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000,
      });
      expect(out).toBe("hello from tsbuild\n");
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });

  it("is deterministic with SOURCE_DATE_EPOCH: the same ref, and an identical rebuild, give the same manifest", async () => {
    const again = await commitImage({ ref: await buildApp(fx), image: appImage(fx), refs: fx.refs, store: fx.store, sourceDateEpoch: EPOCH });
    expect(again.manifest.digest).toBe(img.manifest.digest);
    expect(again.config.digest).toBe(img.config.digest);
    const ref = await buildApp(fx);
    const a = await commitImage({ ref, image: appImage(fx), refs: fx.refs, store: fx.store, sourceDateEpoch: EPOCH, rewriteTimestamp: true });
    const b = await commitImage({ ref, image: appImage(fx), refs: fx.refs, store: fx.store, sourceDateEpoch: EPOCH, rewriteTimestamp: true });
    expect(b.manifestBytes.equals(a.manifestBytes)).toBe(true);
    // rewrite-timestamp clamps file times in built layers to the epoch
    const extract = tar.extract();
    (await fx.store.openRead(a.layers[1]!.descriptor.digest)).pipe(createGunzip()).pipe(extract);
    for await (const e of extract) {
      expect(e.header.mtime!.getTime()).toBeLessThanOrEqual(EPOCH * 1000);
      e.resume();
    }
    expect(a.manifest.digest).not.toBe(img.manifest.digest);
  });

  it("writes zstd and uncompressed layers that skopeo accepts, and docker media types", async () => {
    for (const [compression, mt] of [["zstd", "application/vnd.oci.image.layer.v1.tar+zstd"], ["none", "application/vnd.oci.image.layer.v1.tar"]] as const) {
      const ref = await buildApp(fx);
      const c = await commitImage({ ref, image: appImage(fx), refs: fx.refs, store: fx.store, compression });
      // the base layer is reused as it is (gzip), built layers use the chosen compression
      expect(c.layers.map((l) => l.descriptor.mediaType)).toEqual(["application/vnd.oci.image.layer.v1.tar+gzip", mt, mt]);
      const file = await ociArchive(c, `app-${compression}`);
      const copy = join(work, `copy-${compression}`);
      skopeo("copy", `oci-archive:${file}`, `oci:${copy}:x`);
      expect(existsSync(join(copy, "index.json"))).toBe(true);
    }
    const ref = await buildApp(fx);
    const d = await commitImage({ ref, image: appImage(fx), refs: fx.refs, store: fx.store, mediaTypes: "docker" });
    const m = JSON.parse(d.manifestBytes.toString()) as Manifest;
    expect(m.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(m.config.mediaType).toBe("application/vnd.docker.container.image.v1+json");
    expect(new Set(m.layers.map((l) => l.mediaType))).toEqual(new Set(["application/vnd.docker.image.rootfs.diff.tar.gzip"]));
    await expect(commitImage({ ref, image: appImage(fx), refs: fx.refs, store: fx.store, mediaTypes: "docker", compression: "zstd" })).rejects.toMatchObject({ code: "TSB_USAGE" });
  });

  it("rejects a config without os", async () => {
    const image = { ...appImage(fx), os: "" };
    await expect(commitImage({ ref: fx.base, image, refs: fx.refs, store: fx.store })).rejects.toMatchObject({ code: "TSB_EXPORT_INVALID_CONFIG" });
  });
});
