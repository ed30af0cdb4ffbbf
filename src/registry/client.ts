/**
 * Distribution-spec operations on one Transport: manifest GET/HEAD/PUT, blob HEAD, resumable blob GET, and blob
 * upload sessions (cross-repository mount, monolithic PUT, chunked PATCH). Pull and push logic sits in
 * pull.ts / push.ts on top of these.
 */
import { createReadStream } from "node:fs";
import type { Descriptor, Index, Manifest, Platform } from "../image/index.js";
import { MediaType } from "../image/index.js";
import type { ImageReference } from "../image/index.js";
import { sha256, type Digest } from "../util/digest.js";
import { registryError, errorFromNetwork, type ErrorContext } from "./errors.js";
import { backoffDelay, delay, isRetryableError } from "./retry.js";
import { header, type Transport } from "./transport.js";
import { formatPlatform, selectManifest } from "./platform.js";

/** Every manifest type tsbuild understands, as sent in `Accept`. */
export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest].join(", ");
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** True for index / manifest-list media types. */
export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}

/** `repository:NAME:ACTIONS`. */
export function scope(ref: ImageReference | { path: string }, actions: "pull" | "pull,push"): string {
  return `repository:${ref.path}:${actions}`;
}

/** A manifest or index fetched from a registry, with its exact bytes. */
export interface FetchedManifest {
  readonly descriptor: Descriptor;
  readonly bytes: Buffer;
}

/** The result of resolving a reference for one platform. */
export interface ResolvedImage {
  readonly ref: ImageReference;
  /** What the reference names: an index or a manifest. */
  readonly target: FetchedManifest;
  /** The platform's image manifest (the same object as `target` when the reference names a manifest). */
  readonly manifest: FetchedManifest;
  readonly parsed: Manifest;
  /** The platform chosen from the index, if the reference named one. */
  readonly platform?: Platform;
}

function ctxFor(ref: ImageReference, action: string, push = false): ErrorContext {
  return { registry: ref.domain, action, push };
}

async function readLimited(body: AsyncIterable<Uint8Array>, limit: number, what: string, ctx: ErrorContext): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.byteLength;
    if (n > limit) throw registryError("PROTOCOL", `${what}: the manifest is larger than ${limit} bytes`, ctx);
    chunks.push(Buffer.from(c));
  }
  return Buffer.concat(chunks);
}

/** Distribution-spec client calls. Stateless apart from the transport's pools, tokens and queues. */
export class RegistryClient {
  readonly transport: Transport;
  constructor(transport: Transport) {
    this.transport = transport;
  }

  /** GET a manifest or index by tag or digest; verifies the digest (the pinned one, else Docker-Content-Digest). */
  async getManifest(ref: ImageReference, reference: string, opts: { signal?: AbortSignal | undefined; push?: boolean } = {}): Promise<FetchedManifest> {
    const ctx = ctxFor(ref, `fetching manifest ${ref.name}:${reference}`.replace(":sha256:", "@sha256:"));
    return this.transport.schedule(ref.domain, 1, async () => {
      const res = await this.transport.send({
        registry: ref.domain, method: "GET", path: `/v2/${ref.path}/manifests/${reference}`,
        headers: { accept: MANIFEST_ACCEPT }, scopes: [scope(ref, opts.push ? "pull,push" : "pull")], accept: [200], ctx, signal: opts.signal,
      });
      const bytes = await readLimited(res.body, MAX_MANIFEST_BYTES, ctx.action, ctx);
      const digest = sha256(bytes);
      const expected = reference.startsWith("sha256:") ? reference : header(res.headers, "docker-content-digest");
      if (expected !== undefined && expected !== digest) {
        throw registryError("DIGEST_MISMATCH", `${ctx.action}: content hashes to ${digest}, expected ${expected}`, ctx);
      }
      let mediaType = (header(res.headers, "content-type") ?? "").split(";")[0]!.trim();
      let parsed: { mediaType?: string; manifests?: unknown; config?: unknown };
      try {
        parsed = JSON.parse(bytes.toString("utf8")) as typeof parsed;
      } catch {
        throw registryError("MANIFEST_INVALID", `${ctx.action}: the registry returned invalid JSON`, ctx);
      }
      if (typeof parsed.mediaType === "string") mediaType = parsed.mediaType;
      else if (!isIndexType(mediaType) && mediaType !== MediaType.ociManifest && mediaType !== MediaType.dockerManifest) {
        mediaType = Array.isArray(parsed.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
      }
      return { descriptor: { mediaType, digest, size: bytes.byteLength }, bytes };
    }, opts.signal);
  }

  /** HEAD a manifest: its descriptor if it exists, undefined on 404. */
  async headManifest(ref: ImageReference, reference: string, opts: { signal?: AbortSignal | undefined; push?: boolean } = {}): Promise<Descriptor | undefined> {
    const ctx = ctxFor(ref, `checking manifest ${ref.name}:${reference}`);
    const res = await this.transport.send({
      registry: ref.domain, method: "HEAD", path: `/v2/${ref.path}/manifests/${reference}`, headers: { accept: MANIFEST_ACCEPT },
      scopes: [scope(ref, opts.push ? "pull,push" : "pull")], accept: [200, 404], ctx, signal: opts.signal,
    });
    await res.body.dump();
    const digest = header(res.headers, "docker-content-digest");
    if (res.status === 404 || !digest) return undefined;
    return { mediaType: (header(res.headers, "content-type") ?? "").split(";")[0]!, digest: digest as Digest, size: Number(header(res.headers, "content-length") ?? 0) };
  }

  /** Resolve `ref` to the image manifest for `platform` (choosing from an index if needed). */
  async resolve(ref: ImageReference, platform: Platform, opts: { signal?: AbortSignal | undefined } = {}): Promise<ResolvedImage> {
    const reference = ref.digest ?? ref.tag ?? "latest";
    const target = await this.getManifest(ref, reference, opts);
    let manifest = target;
    let chosen: Platform | undefined;
    if (isIndexType(target.descriptor.mediaType)) {
      const index = JSON.parse(target.bytes.toString("utf8")) as Index;
      const pick = selectManifest(index.manifests ?? [], platform);
      if (!pick) {
        const have = (index.manifests ?? []).flatMap((d) => (d.platform ? [formatPlatform(d.platform)] : [])).join(", ") || "none";
        throw registryError("PLATFORM_NOT_FOUND", `${ref.familiar} has no image for platform ${formatPlatform(platform)} (it has: ${have})`, ctxFor(ref, "resolve"));
      }
      manifest = await this.getManifest(ref, pick.digest, opts);
      if (manifest.descriptor.size !== pick.size) {
        throw registryError("SIZE_INVALID", `manifest ${pick.digest} of ${ref.familiar} is ${manifest.descriptor.size} bytes, the index says ${pick.size}`, ctxFor(ref, "resolve"));
      }
      manifest = { ...manifest, descriptor: { ...manifest.descriptor, mediaType: pick.mediaType ?? manifest.descriptor.mediaType, ...(pick.platform ? { platform: pick.platform } : {}) } };
      chosen = pick.platform;
    }
    const parsed = JSON.parse(manifest.bytes.toString("utf8")) as Manifest;
    if (!parsed.config || !Array.isArray(parsed.layers)) {
      throw registryError("MANIFEST_INVALID", `${ref.familiar}: ${manifest.descriptor.digest} is not an image manifest`, ctxFor(ref, "resolve"));
    }
    return { ref, target, manifest, parsed, ...(chosen ? { platform: chosen } : {}) };
  }

  /** HEAD a blob in a repository: true if the registry has it there. */
  async hasBlob(ref: ImageReference, digest: Digest, signal?: AbortSignal): Promise<boolean> {
    const res = await this.transport.send({
      registry: ref.domain, method: "HEAD", path: `/v2/${ref.path}/blobs/${digest}`, scopes: [scope(ref, "pull,push")],
      accept: [200, 404], ctx: ctxFor(ref, `checking blob ${digest} in ${ref.name}`, true), signal,
    });
    await res.body.dump();
    return res.status === 200;
  }

  /**
   * The bytes of a blob as a stream that survives dropped connections: after a connection error mid-body it
   * re-requests with `Range: bytes=N-` (or skips N bytes if the registry ignores Range) within the retry budget.
   * The consumer verifies the digest.
   */
  async *blobChunks(ref: ImageReference, desc: Descriptor, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    const ctx = ctxFor(ref, `downloading blob ${desc.digest} of ${ref.familiar}`);
    let offset = 0;
    // Chunks go to the store as undici delivers them (16–64 KiB): the store batches them into one writev per
    // write in flight, without copying them into bigger buffers (a copy costs CPU and doubles the external
    // memory that drives V8's garbage collections).
    for (let attempt = 1; ; attempt++) {
      const res = await this.transport.send({
        registry: ref.domain, method: "GET", path: `/v2/${ref.path}/blobs/${desc.digest}`,
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, scopes: [scope(ref, "pull")], accept: [200, 206], ctx, signal,
      });
      let skip = res.status === 200 ? offset : 0;
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          let c = chunk;
          if (skip > 0) {
            if (c.byteLength <= skip) {
              skip -= c.byteLength;
              continue;
            }
            c = c.subarray(skip);
            skip = 0;
          }
          offset += c.byteLength;
          yield c;
        }
        return;
      } catch (err) {
        if (signal?.aborted || !isRetryableError(err) || offset >= desc.size) throw errorFromNetwork(err, ctx);
        if (attempt >= this.transport.policy.maxAttempts + 3 || !this.transport.takeRetry()) throw errorFromNetwork(err, ctx);
        await delay(backoffDelay(this.transport.policy, attempt), signal);
      }
    }
  }

  /**
   * Start an upload session, or mount `digest` from `from` (same registry). Returns `{mounted: true}` when the
   * mount worked, else the session's location and the registry's minimum chunk size.
   */
  async startUpload(ref: ImageReference, opts: { mount?: { digest: Digest; from: string }; signal?: AbortSignal | undefined }): Promise<{ mounted: true } | { mounted: false; location: string; minChunk: number }> {
    const q = opts.mount ? `?mount=${encodeURIComponent(opts.mount.digest)}&from=${encodeURIComponent(opts.mount.from)}` : "";
    const scopes = [scope(ref, "pull,push"), ...(opts.mount ? [`repository:${opts.mount.from}:pull`] : [])];
    const ctx = ctxFor(ref, opts.mount ? `mounting blob ${opts.mount.digest} from ${opts.mount.from} into ${ref.name}` : `starting an upload to ${ref.name}`, true);
    const res = await this.transport.send({
      registry: ref.domain, method: "POST", path: `/v2/${ref.path}/blobs/uploads/${q}`, headers: { "content-length": "0" },
      scopes, accept: [201, 202], ctx, signal: opts.signal,
    });
    await res.body.dump();
    if (res.status === 201 && opts.mount) return { mounted: true };
    const loc = header(res.headers, "location");
    if (!loc) throw registryError("PROTOCOL", `${ctx.action}: the registry sent no upload Location`, ctx, res.status);
    return { mounted: false, location: new URL(loc, res.url).toString(), minChunk: Number(header(res.headers, "oci-chunk-min-length") ?? 0) || 0 };
  }

  /** Upload a stored blob into an open session: one PUT for small blobs, PATCH chunks + PUT for large ones. */
  async uploadBlob(ref: ImageReference, session: { location: string; minChunk: number }, desc: Descriptor, file: string, opts: { chunkSize: number; monolithicMax: number; signal?: AbortSignal | undefined }): Promise<void> {
    const ctx = ctxFor(ref, `uploading blob ${desc.digest} to ${ref.name}`, true);
    const scopes = [scope(ref, "pull,push")];
    const withDigest = (loc: string): string => {
      const u = new URL(loc);
      u.searchParams.set("digest", desc.digest);
      return u.toString();
    };
    let location = session.location;
    if (desc.size <= opts.monolithicMax) {
      const res = await this.transport.send({
        registry: ref.domain, method: "PUT", path: withDigest(location), scopes, accept: [201], ctx, signal: opts.signal, retry: false,
        headers: { "content-type": "application/octet-stream", "content-length": String(desc.size) },
        body: () => (desc.size === 0 ? new Uint8Array() : createReadStream(file)),
      });
      await res.body.dump();
      return;
    }
    const chunk = Math.max(opts.chunkSize, session.minChunk);
    for (let start = 0; start < desc.size; start += chunk) {
      const end = Math.min(desc.size, start + chunk) - 1;
      const res = await this.transport.send({
        registry: ref.domain, method: "PATCH", path: location, scopes, accept: [202], ctx, signal: opts.signal, retry: false,
        headers: { "content-type": "application/octet-stream", "content-range": `${start}-${end}`, "content-length": String(end - start + 1) },
        body: () => createReadStream(file, { start, end }),
      });
      await res.body.dump();
      const loc = header(res.headers, "location");
      if (loc) location = new URL(loc, res.url).toString();
    }
    const res = await this.transport.send({
      registry: ref.domain, method: "PUT", path: withDigest(location), scopes, accept: [201], ctx, signal: opts.signal, retry: false,
      headers: { "content-length": "0" },
    });
    await res.body.dump();
  }

  /** PUT a manifest or index under `reference` (tag or digest); returns the digest the registry reports. */
  async putManifest(ref: ImageReference, reference: string, mediaType: string, bytes: Uint8Array, signal?: AbortSignal): Promise<Digest> {
    const ctx = ctxFor(ref, `pushing manifest ${ref.name}:${reference}`.replace(":sha256:", "@sha256:"), true);
    const digest = sha256(bytes);
    return this.transport.schedule(ref.domain, 1, async () => {
      const res = await this.transport.send({
        registry: ref.domain, method: "PUT", path: `/v2/${ref.path}/manifests/${reference}`, scopes: [scope(ref, "pull,push")],
        headers: { "content-type": mediaType }, body: () => bytes, accept: [200, 201], ctx, signal,
      });
      await res.body.dump();
      const reported = header(res.headers, "docker-content-digest");
      if (reported !== undefined && reported !== digest) {
        throw registryError("DIGEST_MISMATCH", `${ctx.action}: the registry stored ${reported}, tsbuild sent ${digest}`, ctx);
      }
      return digest;
    }, signal);
  }
}
