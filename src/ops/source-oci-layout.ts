/**
 * Images from an OCI image layout directory on disk (`--build-context NAME=oci-layout://DIR[:TAG|@DIGEST]`): read
 * `oci-layout` and `index.json`, pick the image by tag annotation or digest and then by platform, and ingest its
 * blobs (index, manifest, config, layers) into the content store, each verified against its digest and size. The
 * layout is untrusted input: digests must be well-formed sha256 (no path tricks), blobs must be regular files of
 * the declared size, JSON documents are size-capped, and anything off is rejected with the path and the reason.
 */
import { constants } from "node:fs";
import { open, stat } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { isIndexType, isManifestType, MediaType, type Descriptor, type ImageConfig, type Index, type Manifest, type Platform } from "../image/index.js";
import { formatPlatform, selectManifest } from "../registry/index.js";
import type { ContentStore } from "../store/index.js";
import type { Digest } from "../util/digest.js";
import { OpsError } from "./errors.js";

/** Which image of the layout: by `org.opencontainers.image.ref.name` tag, or by digest (default tag `latest`). */
export interface OciLayoutSelector {
  readonly tag?: string;
  readonly digest?: Digest;
}

/** JSON documents (oci-layout, index.json, indexes, manifests, configs) larger than this are rejected. */
const MAX_JSON = 4 << 20;
const REF_NAME = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME = "io.containerd.image.name";
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const LAYER_TYPES: ReadonlySet<string> = new Set([
  MediaType.ociLayer, MediaType.ociLayerGzip, MediaType.ociLayerZstd, MediaType.dockerLayerGzip, "application/vnd.docker.image.rootfs.diff.tar",
]);

function layoutError(dir: string, what: string, hint = "check the directory: it must be an OCI image layout (oci-layout, index.json, blobs/sha256/…)"): OpsError {
  return new OpsError("TSB_OPS_OCI_LAYOUT", `oci-layout ${dir}: ${what}`, { hint });
}

/** A descriptor from untrusted JSON, checked field by field. */
function checkDescriptor(dir: string, d: unknown, where: string): Descriptor {
  const o = d as Partial<Descriptor> | null;
  if (!o || typeof o !== "object") throw layoutError(dir, `${where} is not a descriptor`);
  if (typeof o.digest !== "string" || !DIGEST_RE.test(o.digest)) throw layoutError(dir, `${where} has an invalid digest ${JSON.stringify(o.digest)} (only sha256:<64 hex> is accepted)`);
  if (typeof o.size !== "number" || !Number.isSafeInteger(o.size) || o.size < 0) throw layoutError(dir, `${where} (${o.digest}) has an invalid size ${JSON.stringify(o.size)}`);
  if (typeof o.mediaType !== "string") throw layoutError(dir, `${where} (${o.digest}) has no mediaType`);
  return o as Descriptor;
}

/** Read a small regular file of the layout (never through a symlink, never a device or FIFO). */
async function readSmall(dir: string, rel: string, limit: number): Promise<Buffer> {
  let fh;
  try {
    fh = await open(join(dir, rel), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw layoutError(dir, code === "ENOENT" ? `${rel} is missing` : code === "ELOOP" ? `${rel} is a symbolic link` : `cannot read ${rel} (${code ?? "error"})`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw layoutError(dir, `${rel} is not a regular file`);
    if (st.size > limit) throw layoutError(dir, `${rel} is ${st.size} bytes, more than the ${limit} allowed`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

function parseJson<T>(dir: string, rel: string, bytes: Buffer): T {
  try {
    const v = JSON.parse(bytes.toString("utf8")) as unknown;
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("not a JSON object");
    return v as T;
  } catch {
    throw layoutError(dir, `${rel} is not a valid JSON object`);
  }
}

/** Ingest one blob of the layout into the store (skipped when the store already holds it), verified. */
async function ingestBlob(dir: string, store: ContentStore, d: Descriptor, signal?: AbortSignal): Promise<void> {
  if (await store.has(d.digest)) {
    const { size } = await store.info(d.digest);
    if (size !== d.size) throw layoutError(dir, `descriptor of ${d.digest} says ${d.size} bytes, but that blob has ${size}`);
    return;
  }
  const rel = `blobs/sha256/${d.digest.slice(7)}`;
  let fh;
  try {
    fh = await open(join(dir, rel), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw layoutError(dir, code === "ENOENT" ? `blob ${d.digest} (${d.mediaType}) is missing from ${rel}` : `cannot read ${rel} (${code ?? "error"})`, "the layout is incomplete: export the image again (e.g. skopeo copy … oci:DIR:TAG)");
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw layoutError(dir, `${rel} is not a regular file`);
    if (st.size !== d.size) throw layoutError(dir, `${rel} is ${st.size} bytes but its descriptor says ${d.size}`);
    await store.ingest({ digest: d.digest, size: d.size }, fh.createReadStream({ autoClose: false }), signal ? { signal } : {});
  } catch (err) {
    if (err instanceof OpsError) throw err;
    if (err instanceof TsbuildError && /MISMATCH/.test(err.code)) {
      throw layoutError(dir, `${rel} does not match its digest ${d.digest}`, "the layout is corrupted or was tampered with: export the image again");
    }
    throw err;
  } finally {
    await fh.close();
  }
}

async function ingestJson<T>(dir: string, store: ContentStore, d: Descriptor, signal?: AbortSignal): Promise<T> {
  if (d.size > MAX_JSON) throw layoutError(dir, `${d.mediaType} ${d.digest} is ${d.size} bytes, more than the ${MAX_JSON} allowed`);
  await ingestBlob(dir, store, d, signal);
  return parseJson<T>(dir, `blob ${d.digest}`, await store.readBytes(d.digest));
}

function tagOf(d: Descriptor): string[] {
  const out: string[] = [];
  const ref = d.annotations?.[REF_NAME];
  if (ref !== undefined) out.push(ref);
  const full = d.annotations?.[CONTAINERD_NAME] ?? (ref !== undefined && /[:/]/.test(ref) ? ref : undefined);
  if (full !== undefined) {
    const m = /:([A-Za-z0-9_][A-Za-z0-9._-]{0,127})$/.exec(full.split("@")[0]!);
    if (m) out.push(m[1]!);
  }
  return out;
}

/** Pick the descriptors of index.json that the selector names. */
function pickTop(dir: string, manifests: readonly Descriptor[], sel: OciLayoutSelector): Descriptor[] {
  const images = manifests.filter((d) => isIndexType(d.mediaType) || isManifestType(d.mediaType));
  if (sel.digest !== undefined) return images.filter((d) => d.digest === sel.digest);
  const tag = sel.tag ?? "latest";
  const hits = images.filter((d) => tagOf(d).includes(tag));
  if (hits.length > 0 || sel.tag !== undefined) {
    if (hits.length === 0) {
      const tags = [...new Set(images.flatMap((d) => tagOf(d).slice(0, 1)))];
      throw layoutError(dir, `no image tagged ${JSON.stringify(tag)} in index.json`, tags.length > 0 ? `tags in this layout: ${tags.join(", ")}` : "the layout has no tags: select the image with @sha256:…");
    }
    return hits;
  }
  if (images.length === 1) return images;
  throw layoutError(dir, images.length === 0 ? "index.json lists no image" : `index.json lists ${images.length} images and none is tagged "latest"`, "name one with oci-layout://DIR:TAG or oci-layout://DIR@sha256:…");
}

/**
 * Select an image of the OCI layout at `dir` for `platform` and ingest all of its blobs into `store` (verified).
 * Returns the platform manifest's descriptor (with its platform), ready for `resolveImage` on the store.
 * @throws OpsError `TSB_OPS_OCI_LAYOUT` for a missing, incomplete, corrupted or hostile layout, an unknown tag or
 * digest, or no manifest for the platform.
 */
export async function ingestOciLayoutImage(dir: string, sel: OciLayoutSelector, platform: Platform, store: ContentStore, signal?: AbortSignal): Promise<Descriptor> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw layoutError(dir, "is not a directory", "give the directory of an OCI image layout (e.g. from skopeo copy … oci:DIR:TAG, or tar -x of tsbuild save --format oci)");
  const header = parseJson<{ imageLayoutVersion?: unknown }>(dir, "oci-layout", await readSmall(dir, "oci-layout", 4096));
  if (typeof header.imageLayoutVersion !== "string" || !header.imageLayoutVersion.startsWith("1.")) {
    throw layoutError(dir, `unsupported imageLayoutVersion ${JSON.stringify(header.imageLayoutVersion)} in oci-layout (expected 1.0.0)`);
  }
  const index = parseJson<Partial<Index>>(dir, "index.json", await readSmall(dir, "index.json", MAX_JSON));
  if (!Array.isArray(index.manifests)) throw layoutError(dir, "index.json has no manifests array");
  const top = index.manifests.map((d, i) => checkDescriptor(dir, d, `index.json manifests[${i}]`));
  if (sel.digest !== undefined && !DIGEST_RE.test(sel.digest)) throw layoutError(dir, `invalid digest ${JSON.stringify(sel.digest)}`, "use @sha256:<64 hex digits>");
  let candidates = pickTop(dir, top, sel);
  if (candidates.length === 0 && sel.digest !== undefined) {
    // Not listed in index.json: it may be a manifest of a listed index (a platform-specific digest).
    for (const d of top.filter((t) => isIndexType(t.mediaType))) {
      const idx = await ingestJson<Partial<Index>>(dir, store, d, signal);
      const hit = (Array.isArray(idx.manifests) ? idx.manifests : []).map((m, i) => checkDescriptor(dir, m, `index ${d.digest} manifests[${i}]`)).find((m) => m.digest === sel.digest);
      if (hit) candidates = [hit];
    }
    if (candidates.length === 0) throw layoutError(dir, `no image with digest ${sel.digest}`, "list the layout's images with: skopeo inspect oci:DIR");
  }
  const want = `for ${formatPlatform(platform)}`;
  let desc: Descriptor | undefined = candidates.length === 1 ? candidates[0] : selectManifest(candidates, platform);
  if (!desc) throw layoutError(dir, `none of the ${candidates.length} images selected matches ${formatPlatform(platform)}`, "use FROM --platform=… or --platform to choose one");
  for (let depth = 0; isIndexType(desc.mediaType); depth++) {
    if (depth > 4) throw layoutError(dir, "image indexes nest too deeply");
    const idx: Partial<Index> = await ingestJson<Partial<Index>>(dir, store, desc, signal);
    if (!Array.isArray(idx.manifests)) throw layoutError(dir, `index ${desc.digest} has no manifests array`);
    const children = idx.manifests.map((m, i) => checkDescriptor(dir, m, `index ${desc!.digest} manifests[${i}]`));
    const next = selectManifest(children, platform);
    if (!next) {
      const have = children.filter((c) => c.platform).map((c) => formatPlatform(c.platform!));
      throw layoutError(dir, `no manifest ${want} in index ${desc.digest}`, have.length > 0 ? `platforms in this image: ${have.join(", ")}` : "the index lists no platform");
    }
    desc = next;
  }
  if (!isManifestType(desc.mediaType)) throw layoutError(dir, `${desc.digest} is a ${desc.mediaType}, not an image manifest or index`);
  const manifest = await ingestJson<Partial<Manifest>>(dir, store, desc, signal);
  if (!manifest.config || !Array.isArray(manifest.layers)) throw layoutError(dir, `manifest ${desc.digest} has no config or layers`);
  const configDesc = checkDescriptor(dir, manifest.config, `manifest ${desc.digest} config`);
  const layers = manifest.layers.map((l, i) => checkDescriptor(dir, l, `manifest ${desc!.digest} layers[${i}]`));
  for (const l of layers) {
    if (!LAYER_TYPES.has(l.mediaType)) throw layoutError(dir, `layer ${l.digest} has media type ${l.mediaType}, which is not a container image layer`);
  }
  const config = await ingestJson<Partial<ImageConfig>>(dir, store, configDesc, signal);
  if (config.os !== platform.os || config.architecture !== platform.architecture) {
    throw layoutError(dir, `the image selected is ${config.os ?? "?"}/${config.architecture ?? "?"}, not ${formatPlatform(platform)}`, "use FROM --platform=… (or --platform) to build for the image's platform");
  }
  const diffIds = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== layers.length || !diffIds.every((x) => typeof x === "string" && DIGEST_RE.test(x))) {
    throw layoutError(dir, `config ${configDesc.digest} lists ${Array.isArray(diffIds) ? diffIds.length : 0} diff_ids for ${layers.length} layers`);
  }
  for (const l of layers) await ingestBlob(dir, store, l, signal);
  const { platform: _p, annotations: _a, ...plain } = desc;
  return { ...plain, platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) } };
}
