import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createReadStream, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import tar from "tar-stream";
import type { BuildRef } from "../../../src/cache/index.js";
import { buildMetadata, exportOutputs, parseOutputSpecs, writeIidFile, writeMetadataFile } from "../../../src/exporter/index.js";
import { openRegistry } from "../../../src/registry/index.js";
import { requireTool } from "../../helpers/base-images.js";
import { startRegistry, type TestRegistry } from "../../helpers/registry.js";
import { requireSession } from "../../helpers/session.js";
import { appImage, buildApp, openFixture, skopeo, type ExportFixture } from "./fixture.js";

const EPOCH = 1_700_000_000;
let fx: ExportFixture;
let work: string;
let ref: BuildRef;
let reg: TestRegistry | undefined;

beforeAll(async () => {
  requireSession();
  requireTool("skopeo", "skopeo");
  fx = await openFixture();
  work = mkdtempSync(join(tmpdir(), "tsb-outputs-"));
  ref = await buildApp(fx);
});
afterAll(async () => {
  await reg?.stop();
  await fx?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function run(specs: string[], extra: { tags?: string[]; stdout?: PassThrough; epoch?: number } = {}) {
  return exportOutputs({
    outputs: parseOutputSpecs(specs), ref, image: appImage(fx), tags: extra.tags, refs: fx.refs, store: fx.store, images: fx.images,
    stdout: extra.stdout, sourceDateEpoch: extra.epoch, registry: () => openRegistry({ root: join(fx.dir, "root") }),
  });
}

async function tarEntries(src: NodeJS.ReadableStream): Promise<Map<string, tar.Header>> {
  const out = new Map<string, tar.Header>();
  const extract = tar.extract();
  src.pipe(extract);
  for await (const e of extract) {
    out.set(e.header.name, e.header);
    e.resume();
  }
  return out;
}

describe("exportOutputs", () => {
  it("writes the final filesystem to a local directory, owned by the caller, with modes, symlinks and mtimes", async () => {
    const dest = join(work, "local");
    const r = await run([dest]);
    expect(r.outputs[0]).toMatchObject({ type: "local", dest });
    expect(r.image).toBeUndefined();
    expect(readFileSync(join(dest, "app/data/x"), "utf8")).toBe("x\n");
    expect(lstatSync(join(dest, "app/hello.sh")).mode & 0o7777).toBe(0o750);
    const secret = lstatSync(join(dest, "app/secret"));
    expect([secret.mode & 0o7777, secret.uid, secret.gid]).toEqual([0o600, process.getuid!(), process.getgid!()]);
    expect(readlinkSync(join(dest, "app/run"))).toBe("hello.sh");
    expect(statSync(join(dest, "app/hello.sh")).mtime.toISOString()).toBe("2024-05-01T12:00:00.000Z");
    expect(lstatSync(join(dest, "tmp")).mode & 0o7777).toBe(0o1777);
    expect(existsSync(join(dest, "bin/busybox"))).toBe(true);
    // exporting again merges into the directory; SOURCE_DATE_EPOCH sets every mtime
    await run([`type=local,dest=${dest}`], { epoch: EPOCH });
    expect(statSync(join(dest, "app/data/x")).mtimeMs).toBe(EPOCH * 1000);
  });

  it("writes the final filesystem as one tar, to a file and to standard output, with the image's owners", async () => {
    const file = join(work, "fs.tar");
    await run([`type=tar,dest=${file}`]);
    const entries = await tarEntries(createReadStream(file));
    expect(entries.get("app/secret")).toMatchObject({ mode: 0o600, uid: 1000, gid: 50, type: "file" });
    expect(entries.get("app/run")).toMatchObject({ type: "symlink", linkname: "hello.sh" });
    expect(entries.get("app/data/")).toMatchObject({ type: "directory", uid: 1000 });
    expect(entries.has("bin/busybox")).toBe(true);
    const stdout = new PassThrough();
    const parsed = tarEntries(stdout);
    await run(["-"], { stdout });
    expect([...(await parsed).keys()].sort()).toEqual([...entries.keys()].sort());
    // a destination that cannot be written fails with an exporter error and leaves no temp file behind
    await expect(run([`type=tar,dest=${join(file, "sub.tar")}`])).rejects.toMatchObject({ code: "TSB_EXPORT_WRITE" });
    await expect(run([`type=oci,dest=${join(file, "dir")},tar=false`])).rejects.toMatchObject({ code: "TSB_EXPORT_WRITE" });
  });

  it("writes OCI layouts (tar and directory) with the tag as ref.name, and a docker archive skopeo reads", async () => {
    const oci = join(work, "img.tar");
    const dir = join(work, "layout");
    const docker = join(work, "docker.tar");
    const r = await run([`type=oci,dest=${oci}`, `type=oci,dest=${dir},tar=false`, `type=docker,dest=${docker}`], { tags: ["localhost/app:1"] });
    expect(r.outputs[0]!.image).toBe(r.outputs[1]!.image);
    expect(r.names).toEqual(["localhost/app:1"]);
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests[0]!.annotations["org.opencontainers.image.ref.name"]).toBe("1");
    expect(index.manifests[0]!.digest).toBe(r.image!.manifest.digest);
    expect(r.image!.manifest.annotations?.["org.opencontainers.image.created"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const o = JSON.parse(skopeo("inspect", `oci-archive:${oci}`)) as { Layers: string[] };
    expect(o.Layers).toHaveLength(3);
    const d = JSON.parse(skopeo("inspect", `docker-archive:${docker}`)) as { Layers: string[]; RepoTags: string[]; Labels: Record<string, string> };
    expect(d.Layers).toHaveLength(3);
    expect(d.Labels).toEqual({ a: "b" });
    const manifest = JSON.parse(await readEntry(docker, "manifest.json")) as { RepoTags: string[] }[];
    expect(manifest[0]!.RepoTags).toEqual(["localhost/app:1"]);
  });

  it("stores the image in the local image db under each name, and writes iidfile and metadata", async () => {
    const r = await run(["type=image,name=localhost/a:1,localhost/b:2"]);
    const a = await fx.images.getImage("localhost/a:1");
    const b = await fx.images.getImage("localhost/b:2");
    expect(a.imageId).toBe(r.image!.config.digest);
    expect(b.target.digest).toBe(r.image!.manifest.digest);
    const iid = join(work, "iid");
    const meta = join(work, "meta.json");
    await writeIidFile(iid, r.image!.config.digest);
    await writeMetadataFile(meta, buildMetadata({ manifest: r.image!.manifest, config: r.image!.config, names: r.names }));
    expect(readFileSync(iid, "utf8")).toBe(r.image!.config.digest);
    expect(JSON.parse(readFileSync(meta, "utf8"))).toEqual({
      "containerimage.config.digest": r.image!.config.digest,
      "containerimage.descriptor": { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: r.image!.manifest.digest, size: r.image!.manifest.size },
      "containerimage.digest": r.image!.manifest.digest,
      "image.name": "localhost/a:1,localhost/b:2",
    });
  });

  it("pushes to a real registry; skopeo inspect docker:// shows the image", async () => {
    reg = await startRegistry();
    const name = `${reg.host}/exp/app:v1`;
    const r = await run(["type=registry,compression=zstd"], { tags: [name] });
    expect(r.outputs[0]!.pushed).toEqual([{ name, digest: r.image!.manifest.digest }]);
    const info = JSON.parse(skopeo("inspect", "--tls-verify=false", `docker://${name}`)) as { Digest: string; Layers: string[]; LayersData: { MIMEType: string }[] };
    expect(info.Digest).toBe(r.image!.manifest.digest);
    expect(info.Layers).toEqual(r.image!.layers.map((l) => l.descriptor.digest));
    await expect(run(["type=image,push=true"])).rejects.toMatchObject({ code: "TSB_USAGE" });
  });
});

async function readEntry(file: string, name: string): Promise<string> {
  const extract = tar.extract();
  createReadStream(file).pipe(extract);
  let text = "";
  for await (const e of extract) {
    if (e.header.name === name) for await (const c of e) text += (c as Buffer).toString();
    else e.resume();
  }
  return text;
}
