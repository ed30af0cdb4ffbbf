/**
 * `tsbuild load`: OCI layout tars and docker-archives (legacy `<id>/layer.tar` and Docker ≥ 25 OCI-inside) become
 * local images. Every blob is verified against its digest (and layer diff_ids against the config) before anything is
 * published; a failure leaves nothing behind. Published blobs are held by a lease until their names are written.
 */
import { createLease, deleteLease, type ByteSource } from "../store/index.js";
import { isDigest, type Digest } from "../util/digest.js";
import { stageArchive, unsafe, type ArchiveLimits, type StagedArchive, type StagedEntry } from "./archive-staging.js";
import { ImageError } from "./errors.js";
import { normalizeImageName, type ImageStore } from "./image-db.js";
import { parseReference } from "./reference.js";
import { MediaType, type Descriptor, type ImageConfig, type Index, type Manifest } from "./types.js";
import { isIndexType, isManifestType } from "./walk.js";
import { writeManifest } from "./write-image.js";

/** One image found in an archive. */
export interface LoadedImage {
  readonly target: Descriptor;
  /** Normalized names given to it (may be empty: an unnamed image is loaded but not kept by GC). */
  readonly names: readonly string[];
}

function invalid(problem: string): ImageError {
  return new ImageError("TSB_IMAGE_ARCHIVE_INVALID", `invalid image archive: ${problem}`, {
    hint: "load accepts 'tsbuild save', 'docker save', 'skopeo copy … docker-archive:' and OCI layout tars; nothing was loaded",
  });
}

function json<T>(entry: StagedEntry | undefined, what: string): T {
  if (!entry?.data) throw invalid(`${what} is missing or too large`);
  try {
    return JSON.parse(entry.data.toString("utf8")) as T;
  } catch {
    throw invalid(`${what} is not valid JSON`);
  }
}

/** A plan: what to publish (digest → staged entry) and which names to write. */
interface Plan {
  readonly publish: Map<Digest, StagedEntry>;
  readonly images: { target?: Descriptor; names: string[]; build?: { config: Descriptor; layers: Descriptor[] } }[];
}

function blobEntry(staged: StagedArchive, d: Descriptor, what: string): StagedEntry {
  if (!isDigest(d.digest)) throw invalid(`${what} has an unsupported digest ${JSON.stringify(d.digest)} (only sha256)`);
  const e = staged.get(`blobs/sha256/${d.digest.slice(7)}`);
  if (!e) throw invalid(`${what} ${d.digest} is not in the archive`);
  if (e.digest !== d.digest) throw unsafe(`blob ${d.digest} does not match its content (digest ${e.digest})`);
  if (e.size !== d.size) throw unsafe(`blob ${d.digest} is ${e.size} bytes, its descriptor says ${d.size}`);
  return e;
}

function planOci(staged: StagedArchive): Plan {
  const plan: Plan = { publish: new Map(), images: [] };
  for (const [name, e] of staged.files) {
    const m = /^blobs\/([^/]+)\/([^/]+)$/.exec(name);
    if (m && m[1] === "sha256" && e.digest !== `sha256:${m[2]}`) throw unsafe(`blob ${name} does not match its content (digest ${e.digest})`);
  }
  const index = json<Index>(staged.get("index.json"), "index.json");
  if (!Array.isArray(index.manifests)) throw invalid("index.json has no manifests array");
  const namesByConfig = new Map<string, string[]>();
  if (staged.get("manifest.json")) {
    for (const m of json<{ Config?: string; RepoTags?: string[] }[]>(staged.get("manifest.json"), "manifest.json")) {
      const cfg = m.Config ? staged.get(m.Config) : undefined;
      if (cfg && m.RepoTags) namesByConfig.set(cfg.digest, m.RepoTags);
    }
  }
  const walk = (d: Descriptor, depth: number, optional: boolean): Digest | undefined => {
    if (depth > 4) throw invalid("image indexes nest too deeply");
    if (optional && !staged.get(`blobs/sha256/${d.digest.slice(7)}`)) return undefined;
    const e = blobEntry(staged, d, "manifest");
    plan.publish.set(d.digest, e);
    if (isIndexType(d.mediaType)) {
      const idx = json<Index>(e, `index ${d.digest}`);
      let cfg: Digest | undefined;
      for (const c of idx.manifests ?? []) cfg ??= walk(c, depth + 1, true);
      return cfg;
    }
    if (!isManifestType(d.mediaType)) throw invalid(`descriptor ${d.digest} has media type ${d.mediaType}, not an image`);
    const man = json<Manifest>(e, `manifest ${d.digest}`);
    if (!man.config || !Array.isArray(man.layers)) throw invalid(`manifest ${d.digest} lacks config or layers`);
    plan.publish.set(man.config.digest, blobEntry(staged, man.config, "config"));
    for (const l of man.layers) plan.publish.set(l.digest, blobEntry(staged, l, "layer"));
    return man.config.digest;
  };
  for (const d of index.manifests) {
    const cfg = walk(d, 0, false);
    const names = new Set<string>();
    for (const t of (cfg && namesByConfig.get(cfg)) ?? []) names.add(normalizeImageName(t));
    const ann = d.annotations ?? {};
    const n = ann["io.containerd.image.name"] ?? ann["org.opencontainers.image.ref.name"];
    if (n !== undefined && names.size === 0) {
      try {
        if (/[:/]/.test(n) || ann["io.containerd.image.name"]) names.add(normalizeImageName(n));
      } catch {
        // a bare tag in ref.name names no repository
      }
    }
    const same = plan.images.find((im) => im.target?.digest === d.digest);
    if (same) for (const n of names) !same.names.includes(n) && same.names.push(n);
    else plan.images.push({ target: { mediaType: d.mediaType, digest: d.digest, size: d.size }, names: [...names] });
  }
  return plan;
}

function planDocker(staged: StagedArchive): Plan {
  const plan: Plan = { publish: new Map(), images: [] };
  const entries = json<{ Config?: string; RepoTags?: string[] | null; Layers?: string[] }[]>(staged.get("manifest.json"), "manifest.json");
  if (!Array.isArray(entries)) throw invalid("manifest.json is not an array");
  for (const m of entries) {
    if (typeof m.Config !== "string" || !Array.isArray(m.Layers)) throw invalid("a manifest.json entry lacks Config or Layers");
    const cfgEntry = staged.get(m.Config);
    if (!cfgEntry) throw invalid(`config ${m.Config} is not in the archive`);
    const hex = /([a-f0-9]{64})(\.json)?$/.exec(m.Config)?.[1];
    if (hex && `sha256:${hex}` !== cfgEntry.digest) throw unsafe(`config ${m.Config} does not match its content (digest ${cfgEntry.digest})`);
    const config = json<ImageConfig>(cfgEntry, `config ${m.Config}`);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== m.Layers.length) throw invalid(`config ${m.Config} lists ${diffIds.length} diff_ids but manifest.json lists ${m.Layers.length} layers`);
    plan.publish.set(cfgEntry.digest, cfgEntry);
    const layers: Descriptor[] = m.Layers.map((path, i) => {
      const e = staged.get(path);
      if (!e) throw invalid(`layer ${path} is not in the archive`);
      const want = diffIds[i]!;
      const got = e.gzip ? e.diffId : e.digest;
      if (got !== want) throw unsafe(`layer ${path} does not match diff_id ${want} (content is ${got ?? "not valid gzip"})`);
      plan.publish.set(e.digest, e);
      return { mediaType: e.gzip ? MediaType.ociLayerGzip : MediaType.ociLayer, digest: e.digest, size: e.size };
    });
    const names = (m.RepoTags ?? []).map((t) => normalizeImageName(t));
    plan.images.push({ names, build: { config: { mediaType: MediaType.ociConfig, digest: cfgEntry.digest, size: cfgEntry.size }, layers } });
  }
  return plan;
}

/** Load an archive (tar or tar.gz stream) into the local image store. */
export async function loadArchive(images: ImageStore, source: ByteSource, limits: ArchiveLimits = {}): Promise<LoadedImage[]> {
  const store = images.store;
  const staged = await stageArchive(store, source, limits);
  let lease: string | undefined;
  try {
    const plan = staged.get("index.json") ? planOci(staged) : staged.get("manifest.json") ? planDocker(staged) : undefined;
    if (!plan) throw invalid("it has neither index.json (OCI layout) nor manifest.json (docker-archive)");
    for (const im of plan.images) for (const n of im.names) parseReference(n);
    lease = (await createLease(store.layout, { ttlMs: 3_600_000, digests: [...plan.publish.keys()] })).id;
    for (const [digest, e] of plan.publish) {
      if (e.writer) await e.writer.commit({ digest, size: e.size });
      else await store.putBytes(e.data!, { digest, size: e.size });
    }
    const out: LoadedImage[] = [];
    for (const im of plan.images) {
      const target = im.target ?? (await writeManifest(store, im.build!.config, im.build!.layers));
      for (const n of im.names) await images.putImage(n, target);
      out.push({ target, names: im.names });
    }
    return out;
  } finally {
    await staged.discard();
    if (lease) await deleteLease(store.layout, lease);
  }
}
