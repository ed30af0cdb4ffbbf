/**
 * Round trips against a real docker-registry: push from one store, pull into an empty one, byte-identical
 * manifests and blobs; skopeo accepts what tsbuild pushed and tsbuild pulls what skopeo pushed.
 */
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openContentStore, type ContentStore } from "../../src/store/index.js";
import { parseReference } from "../../src/image/reference.js";
import { openRegistry, type ImageRecorder, type Registry } from "../../src/registry/index.js";
import type { Descriptor, Index, Manifest } from "../../src/image/types.js";
import { requireTool, startRegistry, writeTestImage, writeTestIndex, type TestRegistry } from "../helpers/registry.js";

let reg: TestRegistry;
let tmp: string;
const opened: Registry[] = [];

async function newStore(): Promise<ContentStore> {
  return openContentStore(await mkdtemp(join(tmp, "root-")));
}
function session(root?: string): Registry {
  const r = openRegistry({ retry: { baseDelayMs: 10 }, ...(root ? { root } : {}) });
  opened.push(r);
  return r;
}
async function expectSameContent(a: ContentStore, b: ContentStore, top: Descriptor): Promise<number> {
  const bytes = await b.readBytes(top.digest);
  expect(bytes.equals(await a.readBytes(top.digest))).toBe(true);
  const m = JSON.parse(bytes.toString()) as Manifest;
  for (const d of [m.config, ...m.layers]) expect((await b.readBytes(d.digest)).equals(await a.readBytes(d.digest))).toBe(true);
  return m.layers.length;
}
function skopeo(...args: string[]): string {
  return execFileSync("skopeo", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

beforeAll(async () => {
  requireTool("skopeo", "skopeo");
  tmp = await mkdtemp(join(tmpdir(), "tsbuild-regtest-"));
  reg = await startRegistry();
});
afterAll(async () => {
  for (const r of opened) await r.close();
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("push and pull against docker-registry", () => {
  it("round-trips an OCI image byte for byte and records it", async () => {
    const src = await newStore();
    const desc = await writeTestImage(src, { layers: 3, fileBytes: 200_000 });
    const ref = parseReference(`${reg.host}/tsbuild/roundtrip:v1`);
    const pushed = await session(src.layout.root).push(src, desc, ref, { extraTags: ["v1-extra"] });
    expect(pushed.digest).toBe(desc.digest);
    expect(pushed.bytesUploaded).toBeGreaterThan(600_000);

    const dst = await newStore();
    const recorded: [string, Descriptor][] = [];
    const images: ImageRecorder = { record: async (n, d) => void recorded.push([n, d]) };
    const pulled = await session().pull(ref, dst, { images });
    expect(pulled.manifest.digest).toBe(desc.digest);
    expect(await expectSameContent(src, dst, desc)).toBe(3);
    expect(recorded).toEqual([[ref.full, pulled.manifest]]);

    // The extra tag points at the same manifest.
    const again = await session().resolve(parseReference(`${reg.host}/tsbuild/roundtrip:v1-extra`));
    expect(again.manifest.descriptor.digest).toBe(desc.digest);

    // A second pull into the same store downloads nothing; a second push uploads nothing.
    expect((await session().pull(ref, dst)).bytesDownloaded).toBe(0);
    const second = await session().push(src, desc, ref);
    expect(second.bytesUploaded).toBe(0);
    expect(second.blobsSkipped).toBe(4);
  });

  it("a pull hands its transfer slot to the next blob while the finished one is made durable", async () => {
    const src = await newStore();
    const desc = await writeTestImage(src, { layers: 3, fileBytes: 100_000 });
    const ref = parseReference(`${reg.host}/tsbuild/slots:v1`);
    await session(src.layout.root).push(src, desc, ref);

    // One transfer at a time; each ingest is held after its last byte until the next download has started (or
    // 2 s pass). If the slot were kept until the blob is durable, the next download could not start meanwhile.
    const real = await newStore();
    const events: string[] = [];
    let started = 0;
    let onStart: (() => void) | undefined;
    const store = Object.create(real) as ContentStore;
    store.ingest = async (expected, source, opts = {}) => {
      const n = ++started;
      events.push(`start ${n}`);
      onStart?.();
      const info = await real.ingest(expected, source, { ...opts, onReceived: () => { events.push(`received ${n}`); opts.onReceived?.(); } });
      if (n < 4) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1000);
          onStart = () => (clearTimeout(t), resolve());
        });
      }
      events.push(`durable ${n}`);
      return info;
    };
    const r = openRegistry({ retry: { baseDelayMs: 10 }, concurrencyPerHost: 1 });
    opened.push(r);
    const pulled = await r.pull(ref, store);
    expect(pulled.manifest.digest).toBe(desc.digest);
    // Config and 3 layers (then the manifest bytes), one slot: each blob's successor starts before it is durable.
    expect(started).toBe(5);
    for (const n of [1, 2, 3]) {
      expect(events).toContain(`start ${n + 1}`);
      expect(events.indexOf(`start ${n + 1}`)).toBeLessThan(events.indexOf(`durable ${n}`));
      expect(events.indexOf(`received ${n}`)).toBeGreaterThan(events.indexOf(`start ${n}`));
    }
  });

  it("uploads large blobs in chunks honouring the chunk size", async () => {
    const src = await newStore();
    const desc = await writeTestImage(src, { layers: 1, filesPerLayer: 2, fileBytes: 700_000 });
    const ref = parseReference(`${reg.host}/tsbuild/chunked:latest`);
    await session().push(src, desc, ref, { monolithicMax: 100_000, chunkSize: 256 * 1024 });
    const dst = await newStore();
    await session().pull(ref, dst);
    await expectSameContent(src, dst, desc);
  });

  it("mounts blobs from another repository of the same registry", async () => {
    const src = await newStore();
    const desc = await writeTestImage(src, { layers: 2 });
    const r = session(src.layout.root);
    await r.push(src, desc, parseReference(`${reg.host}/tsbuild/mount-a:1`));
    const res = await r.push(src, desc, parseReference(`${reg.host}/tsbuild/mount-b:1`));
    expect(res.blobsMounted).toBe(3);
    expect(res.bytesUploaded).toBe(0);
    // Known from the per-root record in a later session too.
    const res2 = await session(src.layout.root).push(src, desc, parseReference(`${reg.host}/tsbuild/mount-c:1`));
    expect(res2.blobsMounted).toBe(3);
  });

  it("pushes a multi-platform index and pulls the requested platform", async () => {
    const src = await newStore();
    const idx = await writeTestIndex(src, [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64", variant: "v8" },
      { os: "linux", architecture: "arm", variant: "v7" },
    ]);
    const ref = parseReference(`${reg.host}/tsbuild/multi:1`);
    const pushed = await session().push(src, idx, ref);
    expect(pushed.digest).toBe(idx.digest);
    const index = JSON.parse((await src.readBytes(idx.digest)).toString()) as Index;

    const dst = await newStore();
    const arm = await session().pull(ref, dst, { platform: { os: "linux", architecture: "arm64" } });
    expect(arm.target.digest).toBe(idx.digest);
    expect(arm.manifest.digest).toBe(index.manifests[1]!.digest);
    expect(arm.manifest.platform?.architecture).toBe("arm64");
    await expectSameContent(src, dst, index.manifests[1]!);
    expect((await dst.readBytes(idx.digest)).equals(await src.readBytes(idx.digest))).toBe(true);
    // Default platform is the host's (linux/amd64 on this machine).
    const host = await session().pull(ref, dst);
    expect(host.manifest.digest).toBe(index.manifests[process.arch === "arm64" ? 1 : 0]!.digest);

    await expect(session().pull(ref, dst, { platform: { os: "linux", architecture: "s390x" } })).rejects.toMatchObject({
      code: "TSB_REGISTRY_PLATFORM_NOT_FOUND",
    });
  });

  it("maps missing repositories and tags to typed errors", async () => {
    const dst = await newStore();
    // distribution 2.8 answers MANIFEST_UNKNOWN for unknown repositories; others answer NAME_UNKNOWN.
    const unknown = await session().pull(parseReference(`${reg.host}/tsbuild/nope:1`), dst).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ status: 404 });
    expect(["TSB_REGISTRY_NAME_UNKNOWN", "TSB_REGISTRY_MANIFEST_UNKNOWN"]).toContain((unknown as { code: string }).code);
    expect((unknown as { hint: string }).hint).toMatch(/check the repository name/);
    const src = await newStore();
    const desc = await writeTestImage(src, { layers: 1 });
    await session().push(src, desc, parseReference(`${reg.host}/tsbuild/tags:exists`));
    const err = await session().pull(parseReference(`${reg.host}/tsbuild/tags:missing`), dst).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "TSB_REGISTRY_MANIFEST_UNKNOWN", status: 404 });
    expect((err as Error).message).toContain(`${reg.host}/tsbuild/tags:missing`);
    expect((err as Error).message).toContain(reg.host);
  });

  it("skopeo accepts what tsbuild pushed (OCI and Docker media types)", async () => {
    for (const docker of [false, true]) {
      const src = await newStore();
      const desc = await writeTestImage(src, { layers: 2, docker });
      const name = `tsbuild/skopeo-in-${docker ? "docker" : "oci"}:1`;
      await session().push(src, desc, parseReference(`${reg.host}/${name}`));
      const raw = skopeo("inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/${name}`);
      expect(Buffer.from(raw).equals(await src.readBytes(desc.digest))).toBe(true);
      const info = JSON.parse(skopeo("inspect", "--tls-verify=false", `docker://${reg.host}/${name}`)) as { Digest: string; Layers: string[] };
      expect(info.Digest).toBe(desc.digest);
      expect(info.Layers).toHaveLength(2);
      const out = join(tmp, `skopeo-out-${docker}`);
      skopeo("copy", "--src-tls-verify=false", `docker://${reg.host}/${name}`, `oci:${out}:x`);
      const idx = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as Index;
      expect(idx.manifests).toHaveLength(1);
    }
  });

  it("pulls what skopeo pushed: single manifests and a multi-platform index", async () => {
    const src = await newStore();
    const idx = await writeTestIndex(src, [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }]);
    // Push with tsbuild to one repository, then let skopeo copy it (all platforms) to others, with and without
    // conversion to Docker media types.
    await session().push(src, idx, parseReference(`${reg.host}/tsbuild/skopeo-src:1`));
    skopeo("copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false", `docker://${reg.host}/tsbuild/skopeo-src:1`, `docker://${reg.host}/tsbuild/by-skopeo:1`);
    skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--format", "v2s2", "--override-arch", "amd64", `docker://${reg.host}/tsbuild/skopeo-src:1`, `docker://${reg.host}/tsbuild/by-skopeo-docker:1`);
    const dst = await newStore();
    const a = await session().pull(parseReference(`${reg.host}/tsbuild/by-skopeo:1`), dst, { platform: { os: "linux", architecture: "arm64" } });
    expect(a.target.digest).toBe(idx.digest);
    const b = await session().pull(parseReference(`${reg.host}/tsbuild/by-skopeo-docker:1`), dst);
    expect(b.manifest.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    const m = await dst.readJson<Manifest>(b.manifest.digest);
    for (const l of m.layers) expect(await dst.has(l.digest)).toBe(true);
  });
});
