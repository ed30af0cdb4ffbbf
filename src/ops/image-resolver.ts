/**
 * Base-image resolution for a build: named image contexts first (`--build-context NAME=docker-image://REF` or
 * `oci-layout://DIR`), then the local image db (what `tsbuild build -t`, `pull`, `import`, `load` and earlier
 * pulls left there, as a Docker user expects), then the registry. Only manifests and configs are fetched from a
 * registry here; layers are pulled later by the image source op, and only if a step needs them. An image pulled by
 * tag is named in the local db once all of its blobs are in the store (`recordPulled`), as `docker build` does.
 */
import { isDigest, type Digest } from "../util/digest.js";
import { formatPlatform } from "../registry/index.js";
import type { Registry } from "../registry/index.js";
import {
  isIndexType,
  isManifestType,
  parseReference,
  resolveImage,
  withDigest,
  type Descriptor,
  type ImageConfig,
  type ImageReference,
  type ImageStore,
  type Manifest,
  type Platform,
} from "../image/index.js";
import type { ContentStore } from "../store/index.js";
import type { GraphPlatform } from "../graph/index.js";
import type { ImageMetaResolver } from "../frontend/index.js";
import { OpsError } from "./errors.js";
import { ingestOciLayoutImage } from "./source-oci-layout.js";

/** One layer of a resolved image: its blob descriptor and its diff_id (from the config). */
export interface ResolvedLayer {
  readonly descriptor: Descriptor;
  readonly diffId: Digest;
}

/** A base image resolved for one platform. */
export interface ResolvedBaseImage {
  /** Normalized reference pinned by the platform manifest's digest: `docker.io/library/busybox:latest@sha256:…`. */
  readonly ref: string;
  /** The platform's image manifest descriptor. */
  readonly manifest: Descriptor;
  readonly config: ImageConfig;
  readonly layers: readonly ResolvedLayer[];
  /** Where the metadata came from. */
  readonly origin: "local" | "registry";
}

/** What a named image context stands for. */
export type ImageContextSource =
  /** `docker-image://REF`: resolved like a FROM (local db first unless pull, then the registry). */
  | { readonly kind: "image"; readonly ref: string }
  /** `oci-layout://DIR[:TAG|@DIGEST]`: an OCI image layout on disk, ingested into the store. */
  | { readonly kind: "oci-layout"; readonly dir: string; readonly tag?: string; readonly digest?: Digest };

/** What the resolver needs (a subset of OpDeps). */
export interface ImageResolverDeps {
  readonly images: ImageStore;
  readonly store: ContentStore;
  readonly registry: Registry;
  readonly imageResolve: { readonly pull: boolean };
  /**
   * Named image contexts by name. A base reference matches a name as in BuildKit: its familiar form without a
   * `:latest` suffix (`FROM docker.io/library/base:latest` matches `base`).
   */
  readonly imageContexts?: ReadonlyMap<string, ImageContextSource>;
}

/** The key under which a reference looks for a named context: familiar form without `:latest` (BuildKit's rule). */
export function imageContextKey(name: string): string {
  try {
    const f = parseReference(name).familiar;
    return f.endsWith(":latest") ? f.slice(0, -":latest".length) : f;
  } catch {
    return name;
  }
}

/** An image resolved from a registry by tag in this build: named locally once its blobs are all stored. */
interface PulledImage {
  readonly name: string;
  readonly manifest: Descriptor;
  readonly blobs: readonly Digest[];
}

/**
 * Resolves base images for one build. Results are memoized per (reference, platform), so every stage and op of
 * the build sees the same digest even if a tag moves meanwhile.
 */
export class ImageResolver {
  readonly #deps: ImageResolverDeps;
  readonly #memo = new Map<string, Promise<ResolvedBaseImage>>();
  readonly #contexts: ReadonlyMap<string, ImageContextSource>;
  /** Pinned ref → image pulled by tag, until it is named locally. */
  readonly #pulled = new Map<string, PulledImage>();

  constructor(deps: ImageResolverDeps) {
    this.#deps = deps;
    this.#contexts = new Map([...(deps.imageContexts ?? new Map<string, ImageContextSource>())].map(([k, v]) => [imageContextKey(k), v]));
  }

  /**
   * Name in the local image db the images this build pulled by tag (just `pinnedRef`'s when given) whose blobs are
   * all in the store now, so the next build resolves them without the network. A half-pulled image is never
   * named. Returns the names set.
   */
  async recordPulled(pinnedRef?: string): Promise<string[]> {
    const names: string[] = [];
    const todo = pinnedRef !== undefined ? [pinnedRef] : [...this.#pulled.keys()];
    for (const key of todo) {
      const p = this.#pulled.get(key);
      if (!p) continue;
      let complete = true;
      for (const d of p.blobs) if (!(await this.#deps.store.has(d))) complete = false;
      if (!complete) continue;
      this.#pulled.delete(key);
      await this.#deps.images.putImage(p.name, p.manifest);
      names.push(p.name);
    }
    return names;
  }

  /**
   * Resolve `ref` (normalized, optionally pinned with `@sha256:…`) for `platform`. A pinned digest present in the
   * store is used as is; otherwise the local db is asked first unless `pull` is set, then the registry.
   */
  resolve(ref: string, platform: GraphPlatform, signal?: AbortSignal): Promise<ResolvedBaseImage> {
    const ctxName = this.#contexts.size > 0 ? imageContextKey(ref) : "";
    const named = this.#contexts.get(ctxName);
    const key = named ? `context:${ctxName} ${formatPlatform(platform)}` : `${ref} ${formatPlatform(platform)}`;
    let p = this.#memo.get(key);
    if (!p) {
      p = named ? this.#fromContext(ctxName, named, platform, signal) : this.#resolve(ref, platform, signal);
      this.#memo.set(key, p);
      // A failure must not stick: a later retry (another build step) may succeed.
      p.catch(() => this.#memo.delete(key));
    }
    return p;
  }

  async #resolve(input: string, platform: GraphPlatform, signal?: AbortSignal): Promise<ResolvedBaseImage> {
    const ref = parseReference(input);
    if (ref.digest !== undefined && (await this.#deps.store.has(ref.digest))) {
      const local = await this.#fromStore(ref, { mediaType: await this.#sniff(ref.digest), digest: ref.digest, size: 0 }, platform);
      if (local) return local;
    }
    if (!this.#deps.imageResolve.pull && ref.digest === undefined) {
      const rec = await this.#deps.images.findImage(ref.full);
      if (rec && (await this.#deps.store.has(rec.target.digest))) {
        const local = await this.#fromStore(ref, rec.target, platform);
        if (local) return local;
      }
    }
    return this.#fromRegistry(ref, platform, signal);
  }

  /** A named image context: its image (never chained through other named contexts). */
  async #fromContext(name: string, src: ImageContextSource, platform: GraphPlatform, signal?: AbortSignal): Promise<ResolvedBaseImage> {
    if (src.kind === "image") return this.#resolve(src.ref, platform, signal);
    const manifest = await ingestOciLayoutImage(src.dir, { ...(src.tag ? { tag: src.tag } : {}), ...(src.digest ? { digest: src.digest } : {}) }, platform as Platform, this.#deps.store, signal);
    let ref: ImageReference;
    try {
      ref = parseReference(name);
    } catch {
      ref = parseReference("oci-layout");
    }
    const local = await this.#fromStore(ref, manifest, platform);
    if (!local) throw new OpsError("TSB_OPS_OCI_LAYOUT", `oci-layout ${src.dir}: the image selected is not for ${formatPlatform(platform)}`, { hint: "use FROM --platform=… to build for the image's platform" });
    return local;
  }

  /** The media type of a stored manifest or index (from its `mediaType` field, or its shape). */
  async #sniff(digest: Digest): Promise<string> {
    const doc = await this.#deps.store.readJson<{ mediaType?: string; manifests?: unknown }>(digest);
    if (typeof doc.mediaType === "string") return doc.mediaType;
    return Array.isArray(doc.manifests) ? "application/vnd.oci.image.index.v1+json" : "application/vnd.oci.image.manifest.v1+json";
  }

  async #fromStore(ref: ImageReference, target: Descriptor, platform: GraphPlatform): Promise<ResolvedBaseImage | undefined> {
    if (!isIndexType(target.mediaType) && !isManifestType(target.mediaType)) return undefined;
    const r = await resolveImage(this.#deps.store, target, platform as Platform);
    if (!platformMatches(r.config, platform)) return undefined;
    const manifest = r.manifestDescriptor.size > 0 ? r.manifestDescriptor : { ...r.manifestDescriptor, size: (await this.#deps.store.info(r.manifestDescriptor.digest)).size };
    return build(ref, manifest, r.manifest, r.config, "local");
  }

  async #fromRegistry(ref: ImageReference, platform: GraphPlatform, signal?: AbortSignal): Promise<ResolvedBaseImage> {
    const { registry, store } = this.#deps;
    const resolved = await registry.resolve(ref, { platform: platform as Platform, ...(signal ? { signal } : {}) });
    const manifestDesc = resolved.manifest.descriptor;
    const layerDigests = new Set<string>(resolved.parsed.layers.map((l) => l.digest));
    // Fetch the config (and store the manifest) without the layers: a view of the store in which the layers
    // count as present makes the pull skip them. They are pulled for real when the image source op runs.
    const configOnly = layersDeferred(store, layerDigests);
    const pinned = withDigest(ref, manifestDesc.digest);
    await registry.pull(pinned, configOnly, { platform: platform as Platform, ...(signal ? { signal } : {}) });
    const config = await store.readJson<ImageConfig>(resolved.parsed.config.digest);
    const img = build(ref, manifestDesc, resolved.parsed, config, "registry");
    if (ref.digest === undefined) {
      this.#pulled.set(img.ref, { name: ref.full, manifest: img.manifest, blobs: [manifestDesc.digest, resolved.parsed.config.digest, ...img.layers.map((l) => l.descriptor.digest)] });
    }
    return img;
  }
}

/** A view of `store` in which `deferred` blobs count as present (so a pull skips them); everything else delegates. */
function layersDeferred(store: ContentStore, deferred: ReadonlySet<string>): ContentStore {
  return {
    layout: store.layout,
    ingest: (e, s, o) => store.ingest(e, s, o),
    putBytes: (d, e) => store.putBytes(d, e),
    writer: () => store.writer(),
    has: async (d) => deferred.has(d) || store.has(d),
    info: (d) => store.info(d),
    openRead: (d, o) => store.openRead(d, o),
    readBytes: (d) => store.readBytes(d),
    readJson: (d) => store.readJson(d),
    path: (d) => store.path(d),
    verify: (d) => store.verify(d),
    list: () => store.list(),
  };
}

function platformMatches(config: ImageConfig, want: GraphPlatform): boolean {
  if (config.os !== want.os || config.architecture !== want.architecture) return false;
  return !want.variant || !config.variant || config.variant === want.variant;
}

function build(ref: ImageReference, manifestDesc: Descriptor, manifest: Manifest, config: ImageConfig, origin: ResolvedBaseImage["origin"]): ResolvedBaseImage {
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length || !diffIds.every((d) => isDigest(d))) {
    throw new OpsError("TSB_OPS_BAD_INPUT", `image ${ref.familiar} has ${manifest.layers.length} layers but its config lists ${diffIds.length} diff_ids`, {
      hint: "the image is malformed; rebuild or re-push it",
    });
  }
  const pinned = withDigest(ref, manifestDesc.digest);
  const { platform: _p, ...manifestOnly } = manifestDesc;
  return {
    ref: pinned.full,
    manifest: manifestOnly,
    config,
    layers: manifest.layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i]! })),
    origin,
  };
}

/** Create the per-build image resolver. */
export function createImageResolver(deps: ImageResolverDeps): ImageResolver {
  return new ImageResolver(deps);
}

/** The frontend's view of the resolver: reference + platform → pinned reference + config. */
export function asImageMetaResolver(resolver: ImageResolver, signal?: AbortSignal): ImageMetaResolver {
  return {
    resolve: async (ref, platform) => {
      const r = await resolver.resolve(ref, platform, signal);
      return { ref: r.ref, config: r.config };
    },
  };
}
