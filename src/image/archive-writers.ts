/**
 * Exporting local images: OCI image layout (directory or tar) and docker-archive (`docker save` format, Docker ≥ 25
 * style: an OCI layout with uncompressed layers plus `manifest.json` and `repositories`). Functions over
 * (store, images) so the exporter room can reuse them. Writers never modify the store except `tmp/`.
 */
import { createHash } from "node:crypto";
import { copyFile, mkdir, open, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { tempName, type ContentStore } from "../store/index.js";
import { canonicalJson } from "../util/canonical-json.js";
import type { Digest } from "../util/digest.js";
import { ImageError } from "./errors.js";
import { parseReference } from "./reference.js";
import { MediaType, type Descriptor, type Index, type Manifest } from "./types.js";
import { imageClosure, resolveImage } from "./walk.js";

/** An image to export: its manifest/index descriptor and the normalized names to record for it. */
export interface ExportImage {
  readonly target: Descriptor;
  readonly names: readonly string[];
}

const REF_NAME = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME = "io.containerd.image.name";
const MTIME = new Date(0);

/** index.json descriptors: one per name (tag in ref.name, full name for containerd), or one unnamed. */
function indexEntries(images: readonly ExportImage[], override?: (img: ExportImage) => Descriptor): Descriptor[] {
  const out: Descriptor[] = [];
  for (const img of images) {
    const d = override ? override(img) : img.target;
    const base = { mediaType: d.mediaType, digest: d.digest, size: d.size };
    if (img.names.length === 0) out.push(base);
    for (const n of img.names) {
      const ref = parseReference(n);
      out.push({ ...base, annotations: { [CONTAINERD_NAME]: ref.full, [REF_NAME]: ref.tag ?? "latest" } });
    }
  }
  return out;
}

function indexJson(manifests: readonly Descriptor[]): string {
  const idx: Index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
  return JSON.stringify(idx);
}

async function allBlobs(store: ContentStore, images: readonly ExportImage[]): Promise<Digest[]> {
  const set = new Set<Digest>();
  for (const img of images) await imageClosure(store, img.target, set);
  for (const d of set) {
    if (!(await store.has(d))) {
      throw new ImageError("TSB_IMAGE_INVALID", `blob ${d} of an exported image is missing from the store`, { hint: "pull or load the image again, then retry" });
    }
  }
  return [...set];
}

/** Write an OCI image layout directory (creating it; an existing index.json is replaced). */
export async function writeOciLayoutDir(store: ContentStore, images: readonly ExportImage[], dir: string): Promise<void> {
  const blobsDir = join(dir, "blobs", "sha256");
  await mkdir(blobsDir, { recursive: true });
  for (const d of await allBlobs(store, images)) {
    const dst = join(blobsDir, d.slice(7));
    if (!(await stat(dst).catch(() => undefined))) await copyFile(store.path(d), dst);
  }
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(join(dir, "index.json"), indexJson(indexEntries(images)));
}

/** A sequential tar writer over tar-stream's pack. */
class TarOut {
  readonly #pack = tar.pack();
  readonly #done: Promise<void>;
  readonly #dirs = new Set<string>();
  /** Rejects as soon as the output fails (e.g. EPIPE: the reader of standard output went away); never resolves. */
  readonly #failed: Promise<never>;
  constructor(out: Writable) {
    this.#done = pipeline(this.#pack, out);
    this.#failed = this.#done.then(() => new Promise<never>(() => {}));
    // Awaited by finish() or through #failed by each write; until then a failure must not be an unhandled rejection.
    this.#done.catch(() => {});
    this.#failed.catch(() => {});
  }
  /** `p`, or the output's failure if that comes first (entries of a destroyed pack may never call back). */
  #guard<T>(p: Promise<T>): Promise<T> {
    p.catch(() => {});
    // Once the output failed, entries fail with tar-stream's "already finalized or destroyed" before the pipeline
    // reports why: prefer the output's own error when it arrives shortly.
    return Promise.race([this.#failed, p]).catch(async (err: unknown) => {
      const own = await Promise.race([this.#done.then(() => undefined, (e: unknown) => e), new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
      throw own ?? err;
    });
  }
  async dir(name: string): Promise<void> {
    if (this.#dirs.has(name)) return;
    this.#dirs.add(name);
    await this.#guard(new Promise<void>((res, rej) => this.#pack.entry({ name: `${name}/`, type: "directory", mode: 0o755, mtime: MTIME }, (e) => (e ? rej(e) : res()))));
  }
  async bytes(name: string, data: string | Buffer): Promise<void> {
    await this.#guard(new Promise<void>((res, rej) => this.#pack.entry({ name, mode: 0o644, mtime: MTIME }, Buffer.from(data), (e) => (e ? rej(e) : res()))));
  }
  async stream(name: string, size: number, src: Readable): Promise<void> {
    let cb: (e?: Error | null) => void = () => undefined;
    const written = new Promise<void>((res, rej) => (cb = (e) => (e ? rej(e) : res())));
    written.catch(() => {}); // awaited below unless the copy fails first
    let entry: ReturnType<tar.Pack["entry"]>;
    try {
      entry = this.#pack.entry({ name, size, mode: 0o644, mtime: MTIME }, (e) => cb(e));
    } catch (err) {
      src.destroy();
      return this.#guard(Promise.reject(err as Error));
    }
    try {
      await this.#guard(pipeline(src, entry));
      await this.#guard(written);
    } catch (err) {
      src.destroy();
      throw err;
    }
  }
  async finish(): Promise<void> {
    this.#pack.finalize();
    await this.#done;
  }
}

/** Write an OCI image layout as a tar stream (`oci-archive`). */
export async function writeOciArchive(store: ContentStore, images: readonly ExportImage[], out: Writable): Promise<void> {
  const t = new TarOut(out);
  await t.bytes("oci-layout", JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await t.dir("blobs");
  await t.dir("blobs/sha256");
  for (const d of await allBlobs(store, images)) {
    const { size } = await store.info(d);
    await t.stream(`blobs/sha256/${d.slice(7)}`, size, await store.openRead(d));
  }
  await t.bytes("index.json", indexJson(indexEntries(images)));
  await t.finish();
}

/** Decompress a gzip layer into a temp file under the root's tmp/, verifying its diff_id. */
async function uncompressedLayer(store: ContentStore, layer: Descriptor, diffId: Digest): Promise<{ path: string; size: number }> {
  const path = join(store.layout.tmp, tempName());
  const hash = createHash("sha256");
  const fh = await open(path, "wx");
  let size = 0;
  try {
    const src = (await store.openRead(layer.digest)).pipe(createGunzip());
    for await (const chunk of src as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      await fh.write(chunk);
    }
  } catch (err) {
    await fh.close();
    await rm(path, { force: true });
    throw err;
  }
  await fh.close();
  if (`sha256:${hash.digest("hex")}` !== diffId) {
    await rm(path, { force: true });
    throw new ImageError("TSB_IMAGE_INVALID", `layer ${layer.digest} does not decompress to its diff_id ${diffId}`, { hint: "the image is corrupt; pull or build it again" });
  }
  return { path, size };
}

const UNCOMPRESSED = new Set<string>([MediaType.ociLayer, "application/vnd.docker.image.rootfs.diff.tar"]);
const GZIP = new Set<string>([MediaType.ociLayerGzip, MediaType.dockerLayerGzip]);

/**
 * Write a docker-archive (`docker save` / `docker load` format) to `out`: `manifest.json`, `repositories` and, as
 * Docker ≥ 25 does, an OCI layout whose manifests reference uncompressed layers (`blobs/sha256/<diff_id>`).
 * Index images are exported for the host platform.
 */
export async function writeDockerArchive(store: ContentStore, images: readonly ExportImage[], out: Writable): Promise<void> {
  const t = new TarOut(out);
  const written = new Set<string>();
  const sizes = new Map<Digest, number>();
  const manifestJson: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const archiveManifests = new Map<ExportImage, Descriptor>();
  await t.bytes("oci-layout", JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await t.dir("blobs");
  await t.dir("blobs/sha256");
  const putBlob = async (digest: Digest, size: number, src: () => Promise<Readable>): Promise<void> => {
    if (written.has(digest)) return;
    written.add(digest);
    sizes.set(digest, size);
    await t.stream(`blobs/sha256/${digest.slice(7)}`, size, await src());
  };
  for (const img of images) {
    const r = await resolveImage(store, img.target);
    const cfg = r.manifest.config;
    await putBlob(cfg.digest, cfg.size, () => store.openRead(cfg.digest));
    const layers: Descriptor[] = [];
    for (const [i, l] of r.manifest.layers.entries()) {
      const diffId = r.config.rootfs.diff_ids[i];
      if (!diffId) throw new ImageError("TSB_IMAGE_INVALID", `image ${r.configDigest} has fewer diff_ids than layers`, { hint: "the image config is corrupt" });
      if (UNCOMPRESSED.has(l.mediaType)) {
        await putBlob(diffId, l.size, () => store.openRead(l.digest));
        layers.push({ mediaType: MediaType.ociLayer, digest: diffId, size: l.size });
      } else if (GZIP.has(l.mediaType)) {
        const known = sizes.get(diffId);
        if (known !== undefined) {
          layers.push({ mediaType: MediaType.ociLayer, digest: diffId, size: known });
          continue;
        }
        const tmp = await uncompressedLayer(store, l, diffId);
        try {
          await putBlob(diffId, tmp.size, async () => (await open(tmp.path, "r")).createReadStream());
        } finally {
          await rm(tmp.path, { force: true });
        }
        layers.push({ mediaType: MediaType.ociLayer, digest: diffId, size: tmp.size });
      } else {
        throw new ImageError("TSB_IMAGE_INVALID", `layer media type ${l.mediaType} cannot be written to a docker archive`, { hint: "use --format oci" });
      }
    }
    const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: cfg.digest, size: cfg.size }, layers };
    const bytes = Buffer.from(canonicalJson(manifest));
    const mdigest = `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Digest;
    if (!written.has(mdigest)) {
      written.add(mdigest);
      await t.bytes(`blobs/sha256/${mdigest.slice(7)}`, bytes);
    }
    archiveManifests.set(img, { mediaType: MediaType.ociManifest, digest: mdigest, size: bytes.length });
    const tags = img.names.map((n) => parseReference(n).familiar);
    manifestJson.push({ Config: `blobs/sha256/${cfg.digest.slice(7)}`, RepoTags: tags, Layers: layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`) });
    for (const n of img.names) {
      const ref = parseReference(n);
      (repositories[ref.familiarName] ??= {})[ref.tag ?? "latest"] = cfg.digest.slice(7);
    }
  }
  await t.bytes("index.json", indexJson(indexEntries(images, (img) => archiveManifests.get(img)!)));
  await t.bytes("manifest.json", JSON.stringify(manifestJson));
  await t.bytes("repositories", JSON.stringify(repositories));
  await t.finish();
}
