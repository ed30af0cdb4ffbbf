import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVertex, type Vertex } from "../../../src/graph/index.js";
import type { Descriptor, Index, Manifest } from "../../../src/image/index.js";
import { imageContextKey, ingestOciLayoutImage } from "../../../src/ops/index.js";
import { assertRunnable, canRunPlatform, rootfsPlatform, type EmulationProbe } from "../../../src/ops/image-platform.js";
import { openContentStore, type ContentStore } from "../../../src/store/index.js";
import { sha256 } from "../../../src/util/digest.js";
import { writeTestImage, writeTestIndex } from "../../helpers/registry.js";

const amd64 = { os: "linux", architecture: "amd64" };
const arm64 = { os: "linux", architecture: "arm64" };
let tmp: string;
let src: ContentStore;
let single: Descriptor;
let multi: Descriptor;

/** Write an OCI layout at `dir` holding every blob of `src` and `manifests` as its index.json. */
async function writeLayout(dir: string, manifests: readonly Descriptor[]): Promise<void> {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  for await (const d of src.list()) await copyFile(src.path(d.digest), join(dir, "blobs", "sha256", d.digest.slice(7)));
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests }));
}

const tagged = (d: Descriptor, tag: string): Descriptor => ({ ...d, annotations: { "org.opencontainers.image.ref.name": tag } });

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tsb-oci-layout-"));
  src = await openContentStore(join(tmp, "src"));
  single = await writeTestImage(src, { layers: 2, platform: amd64 });
  multi = await writeTestIndex(src, [amd64, arm64], { layers: 1 });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

let n = 0;
let store: ContentStore;
let dir: string;
beforeEach(async () => {
  n++;
  store = await openContentStore(join(tmp, `dst-${n}`));
  dir = join(tmp, `layout-${n}`);
});

describe("ingestOciLayoutImage", () => {
  it("selects by tag (latest by default), ingests every blob verified, and returns the platform manifest", async () => {
    const { platform: _p, ...plain } = single;
    await writeLayout(dir, [tagged(plain, "latest"), tagged(multi, "multi")]);
    const got = await ingestOciLayoutImage(dir, {}, amd64, store);
    expect(got.digest).toBe(single.digest);
    expect(got.platform).toEqual(amd64);
    const man = await store.readJson<Manifest>(got.digest);
    for (const d of [man.config, ...man.layers]) expect(await store.has(d.digest)).toBe(true);
    // Nothing of the other image was ingested.
    expect(await store.has(multi.digest)).toBe(false);
  });

  it("picks the platform's manifest from a multi-platform index, by tag or by digest", async () => {
    await writeLayout(dir, [tagged(multi, "multi")]);
    const idx = await src.readJson<Index>(multi.digest);
    const armDesc = idx.manifests.find((m) => m.platform?.architecture === "arm64")!;
    const a = await ingestOciLayoutImage(dir, { tag: "multi" }, arm64, store);
    expect(a.digest).toBe(armDesc.digest);
    const b = await ingestOciLayoutImage(dir, { digest: multi.digest }, amd64, store);
    expect(b.platform?.architecture).toBe("amd64");
    // A platform manifest's own digest selects it too.
    expect((await ingestOciLayoutImage(dir, { digest: armDesc.digest }, arm64, store)).digest).toBe(armDesc.digest);
    await expect(ingestOciLayoutImage(dir, { tag: "multi" }, { os: "linux", architecture: "s390x" }, store)).rejects.toThrow(/no manifest for linux\/s390x/);
  });

  it("rejects unknown tags and digests, naming what the layout has", async () => {
    await writeLayout(dir, [tagged(single, "v1")]);
    await expect(ingestOciLayoutImage(dir, { tag: "v2" }, amd64, store)).rejects.toMatchObject({ code: "TSB_OPS_OCI_LAYOUT", hint: expect.stringContaining("v1") });
    await expect(ingestOciLayoutImage(dir, { digest: sha256("nope") }, amd64, store)).rejects.toThrow(/no image with digest/);
    // One untagged-as-latest image is used without a tag; a wrong platform is an error, not a silent fallback.
    await expect(ingestOciLayoutImage(dir, {}, arm64, store)).rejects.toThrow(/is linux\/amd64, not linux\/arm64/);
  });

  it("rejects hostile layouts: traversal digests, tampered blobs, wrong sizes, symlinks, missing blobs, bad headers", async () => {
    await writeLayout(dir, [tagged(single, "latest")]);
    const man = await src.readJson<Manifest>(single.digest);
    const layer = join(dir, "blobs", "sha256", man.layers[0]!.digest.slice(7));

    const evil = { ...single, digest: "sha256:../../../../etc/passwd" } as unknown as Descriptor;
    await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [evil] }));
    await expect(ingestOciLayoutImage(dir, {}, amd64, store)).rejects.toThrow(/invalid digest/);
    await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ ...single, size: -1 }] }));
    await expect(ingestOciLayoutImage(dir, {}, amd64, store)).rejects.toThrow(/invalid size/);
    await writeFile(join(dir, "index.json"), "{not json");
    await expect(ingestOciLayoutImage(dir, {}, amd64, store)).rejects.toThrow(/index\.json is not a valid JSON object/);
    await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [single] }));

    const good = await readFile(layer);
    const bad = Buffer.from(good);
    bad[bad.length - 1]! ^= 0xff;
    await writeFile(layer, bad);
    await expect(ingestOciLayoutImage(dir, {}, amd64, store)).rejects.toMatchObject({ code: "TSB_OPS_OCI_LAYOUT", message: expect.stringMatching(/does not match its digest/) });
    expect(await store.has(man.layers[0]!.digest)).toBe(false);
    await writeFile(layer, Buffer.concat([good, Buffer.from("x")]));
    await expect(ingestOciLayoutImage(dir, {}, amd64, store)).rejects.toThrow(/bytes but its descriptor says/);
    await rm(layer);
    await symlink("/dev/zero", layer);
    await expect(ingestOciLayoutImage(dir, {}, amd64, store)).rejects.toThrow(/cannot read|symbolic link|not a regular file/);
    await rm(layer);
    await expect(ingestOciLayoutImage(dir, {}, amd64, store)).rejects.toThrow(/is missing from blobs\/sha256/);
    await writeFile(layer, good);
    expect((await ingestOciLayoutImage(dir, {}, amd64, store)).digest).toBe(single.digest);

    await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "2.0.0" }));
    await expect(ingestOciLayoutImage(dir, {}, amd64, store)).rejects.toThrow(/unsupported imageLayoutVersion/);
    await rm(join(dir, "oci-layout"));
    await expect(ingestOciLayoutImage(dir, {}, amd64, store)).rejects.toThrow(/oci-layout is missing/);
    await expect(ingestOciLayoutImage(join(dir, "nope"), {}, amd64, store)).rejects.toThrow(/is not a directory/);
    expect((await readdir(dir)).sort()).toEqual(["blobs", "index.json"]);
  });
});

describe("imageContextKey", () => {
  it("matches BuildKit's named-context keys: familiar name without :latest", () => {
    expect(imageContextKey("docker.io/library/base:latest")).toBe("base");
    expect(imageContextKey("base")).toBe("base");
    expect(imageContextKey("alpine:3.18")).toBe("alpine:3.18");
    expect(imageContextKey("localhost:5000/app")).toBe("localhost:5000/app");
    expect(imageContextKey("Not A Ref")).toBe("Not A Ref");
  });
});

describe("foreign platforms", () => {
  const image = (p: { os: string; architecture: string }): Vertex => createVertex({ kind: "source", source: { type: "image", ref: "docker.io/library/busybox:latest", platform: p } }, [], { name: "FROM busybox" });
  const run = (base: Vertex | null): Vertex =>
    createVertex(
      { kind: "exec", meta: { args: ["/bin/sh", "-c", "true"], env: [], cwd: "/", user: "" }, network: "default", security: "sandbox", mounts: [{ type: "bind", dest: "/", input: base ? 0 : null, readonly: false, output: 0 }] },
      base ? [{ vertex: base, output: 0 }] : [],
      { name: "[2/2] RUN true" },
    );
  const copy = (base: Vertex): Vertex => createVertex({ kind: "file", base: 0, actions: [{ action: "mkdir", path: "/d", mode: 0o755, makeParents: true }] }, [{ vertex: base, output: 0 }], { name: "WORKDIR /d" });
  const none: EmulationProbe = { readHandler: () => undefined };

  it("finds the stage's platform through RUN and file steps", () => {
    expect(rootfsPlatform(run(copy(run(image(arm64)))))).toEqual(arm64);
    expect(rootfsPlatform(run(null))).toBeUndefined();
  });

  it("runs native platforms, refuses foreign ones without emulation, accepts a fix-binary qemu handler", () => {
    expect(canRunPlatform(amd64, amd64, none)).toBe(true);
    expect(canRunPlatform({ os: "linux", architecture: "386" }, amd64, none)).toBe(true);
    expect(canRunPlatform(arm64, amd64, none)).toBe(false);
    const qemu = (flags: string): EmulationProbe => ({ readHandler: (n) => (n === "qemu-aarch64" ? `enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: ${flags}\n` : undefined) });
    expect(canRunPlatform(arm64, amd64, qemu("POCF"))).toBe(true);
    expect(canRunPlatform(arm64, amd64, qemu("PO"))).toBe(false);
    expect(() => assertRunnable(run(image(amd64)), amd64, none)).not.toThrow();
    expect(() => assertRunnable(run(copy(image(arm64))), amd64, none)).toThrow(
      expect.objectContaining({ code: "TSB_OPS_PLATFORM", message: expect.stringMatching(/linux\/arm64 but this host is linux\/amd64, and no emulation is available \(binfmt_misc has no enabled qemu-aarch64 handler\)/) }),
    );
    expect(() => assertRunnable(run(image({ os: "windows", architecture: "amd64" })), amd64, none)).toThrow(/windows binaries cannot run on linux|no emulation/);
  });
});
