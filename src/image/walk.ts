/**
 * Walking image content by descriptor media type: the blobs an image references (index → manifests → config and
 * layers), and choosing the manifest for a platform. Reads only manifests and indexes, never layers.
 */
import type { ContentStore } from "../store/index.js";
import type { Digest } from "../util/digest.js";
import { ImageError } from "./errors.js";
import { MediaType, type Descriptor, type ImageConfig, type Index, type Manifest, type Platform } from "./types.js";

export function isIndexType(mt: string | undefined): boolean {
  return mt === MediaType.ociIndex || mt === MediaType.dockerManifestList;
}

export function isManifestType(mt: string | undefined): boolean {
  return mt === MediaType.ociManifest || mt === MediaType.dockerManifest;
}

/**
 * Every digest `target` references that must be kept with it, including `target`. Index children absent from the
 * store are skipped (a pull stores only the platforms it needs); manifest children are always included, so a
 * missing config or layer shows up as dangling in fsck.
 */
export async function imageClosure(store: ContentStore, target: Descriptor, into = new Set<Digest>()): Promise<Set<Digest>> {
  if (into.has(target.digest)) return into;
  into.add(target.digest);
  if (!(await store.has(target.digest))) return into;
  if (isIndexType(target.mediaType)) {
    const idx = await store.readJson<Index>(target.digest);
    for (const m of idx.manifests ?? []) {
      if (await store.has(m.digest)) await imageClosure(store, m, into);
    }
  } else if (isManifestType(target.mediaType)) {
    const man = await store.readJson<Manifest>(target.digest);
    into.add(man.config.digest);
    for (const l of man.layers ?? []) into.add(l.digest);
  }
  return into;
}

/** The OCI platform of this host (`linux/amd64`, `linux/arm64`, …). */
export function hostPlatform(): Platform {
  const map: Readonly<Record<string, string>> = { x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  const architecture = map[process.arch] ?? process.arch;
  return architecture === "arm" ? { os: process.platform, architecture, variant: "v7" } : { os: process.platform, architecture };
}

/** The resolved single-platform image behind a manifest or index descriptor. */
export interface ResolvedImage {
  readonly manifestDescriptor: Descriptor;
  readonly manifest: Manifest;
  readonly config: ImageConfig;
  readonly configDigest: Digest;
}

/** Resolve a descriptor to a manifest + config, picking `platform` (default: host, else the first present) from an index. */
export async function resolveImage(store: ContentStore, target: Descriptor, platform: Platform = hostPlatform()): Promise<ResolvedImage> {
  let desc = target;
  if (isIndexType(desc.mediaType)) {
    const idx = await store.readJson<Index>(desc.digest);
    const present: Descriptor[] = [];
    for (const m of idx.manifests ?? []) if (isManifestType(m.mediaType) && (await store.has(m.digest))) present.push(m);
    const match =
      present.find((m) => m.platform?.os === platform.os && m.platform.architecture === platform.architecture) ?? present[0];
    if (!match) throw new ImageError("TSB_IMAGE_INVALID", `image index ${desc.digest} has no manifest in the local store`, { hint: "pull the image again for this platform" });
    desc = match;
  }
  if (!isManifestType(desc.mediaType)) {
    throw new ImageError("TSB_IMAGE_INVALID", `descriptor ${desc.digest} has media type ${desc.mediaType}, not an image manifest or index`, { hint: "only container images can be stored by name" });
  }
  const manifest = await store.readJson<Manifest>(desc.digest);
  const config = await store.readJson<ImageConfig>(manifest.config.digest);
  return { manifestDescriptor: desc, manifest, config, configDigest: manifest.config.digest };
}
