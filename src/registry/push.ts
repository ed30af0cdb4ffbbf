/**
 * Push: walk an image (index → manifests → config + layers) from the store and upload what the registry lacks.
 * Per blob: HEAD (skip if present) → cross-repository mount when the blob is known to live in another repository
 * of the same registry → monolithic PUT or chunked PATCH upload. Children go before their parents (blobs before
 * the manifest, manifests before the index); the top manifest is PUT once per tag.
 */
import { setMaxListeners } from "node:events";
import type { ContentStore } from "../store/index.js";
import { withTag, type ImageReference } from "../image/index.js";
import type { Descriptor, Index, Manifest } from "../image/index.js";
import type { Digest } from "../util/digest.js";
import type { BlobSources } from "./blob-sources.js";
import { isIndexType, type RegistryClient } from "./client.js";
import { RegistryError, registryError } from "./errors.js";
import { backoffDelay, delay } from "./retry.js";
import type { PushOptions, PushResult } from "./types.js";

const RETRYABLE_KINDS = new Set(["SERVER_ERROR", "TOOMANYREQUESTS", "UNREACHABLE", "TIMEOUT", "BLOB_UPLOAD_UNKNOWN", "BLOB_UPLOAD_INVALID"]);

/** Push the image `descriptor` (manifest or index in `store`) to `ref` and its extra tags. */
export async function pushImage(client: RegistryClient, store: ContentStore, descriptor: Descriptor, ref: ImageReference, opts: PushOptions = {}, sources?: BlobSources): Promise<PushResult> {
  const abort = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, abort.signal]) : abort.signal;
  // One listener per blob in flight is expected here.
  setMaxListeners(0, signal);
  const monolithicMax = opts.monolithicMax ?? 32 * 1024 * 1024;
  const chunkSize = opts.chunkSize ?? 64 * 1024 * 1024;
  const stats = { uploaded: 0, mounted: 0, skipped: 0 };
  const blobTasks = new Map<string, Promise<void>>();
  const ctx = { registry: ref.domain, action: `pushing ${ref.familiar}`, push: true };

  const missingLocally = (d: Descriptor): RegistryError =>
    new RegistryError("BLOB_UNKNOWN", `pushing ${ref.familiar}: ${d.mediaType} ${d.digest} is not in the local store`, {
      registry: ref.domain,
      hint: "the image is incomplete locally (e.g. only one platform of an index was pulled); pull or build it again",
    });

  const pushBlob = (desc: Descriptor): Promise<void> => {
    let task = blobTasks.get(desc.digest);
    if (!task) {
      task = client.transport.schedule(ref.domain, 0, () => uploadOne(desc), signal).catch((err: unknown) => {
        abort.abort();
        throw err;
      });
      blobTasks.set(desc.digest, task);
    }
    return task;
  };

  const uploadOne = async (desc: Descriptor): Promise<void> => {
    // A blob missing locally is fine when the registry already has it, or can mount it (e.g. a layer known only
    // from an imported build cache in another repository of this registry).
    const local = await store.has(desc.digest);
    if (await client.hasBlob(ref, desc.digest, signal)) {
      stats.skipped++;
      opts.onProgress?.({ kind: "blob-done", digest: desc.digest, size: desc.size, how: "exists" });
      sources?.add(desc.digest, ref.name);
      return;
    }
    const from = (await (sources?.lookup(desc.digest) ?? Promise.resolve([])))
      .filter((r) => r.startsWith(`${ref.domain}/`) && r !== ref.name)
      .map((r) => r.slice(ref.domain.length + 1))[0];
    let session = await client.startUpload(ref, { ...(from ? { mount: { digest: desc.digest, from } } : {}), signal });
    if (session.mounted) {
      stats.mounted++;
      opts.onProgress?.({ kind: "blob-done", digest: desc.digest, size: desc.size, how: "mounted" });
      sources?.add(desc.digest, ref.name);
      return;
    }
    // The abandoned upload session expires on the registry's side.
    if (!local) throw missingLocally(desc);
    opts.onProgress?.({ kind: "blob-start", digest: desc.digest, size: desc.size, action: "upload" });
    const file = store.path(desc.digest);
    for (let attempt = 1; ; attempt++) {
      try {
        await client.uploadBlob(ref, session, desc, file, { chunkSize, monolithicMax, signal });
        break;
      } catch (err) {
        // An upload session is not resumable across failures in general: start a new one.
        if (signal.aborted || !(err instanceof RegistryError) || !RETRYABLE_KINDS.has(err.kind)) throw err;
        if (attempt >= client.transport.policy.maxAttempts || !client.transport.takeRetry()) throw err;
        await delay(backoffDelay(client.transport.policy, attempt), signal);
        const s = await client.startUpload(ref, { signal });
        if (s.mounted) break;
        session = s;
      }
    }
    stats.uploaded += desc.size;
    sources?.add(desc.digest, ref.name);
    opts.onProgress?.({ kind: "blob-done", digest: desc.digest, size: desc.size, how: "uploaded" });
  };

  /** Push everything `desc` references, then (unless it is the top) `desc` itself by digest. */
  const pushTree = async (desc: Descriptor, top: boolean): Promise<Buffer> => {
    if (!(await store.has(desc.digest))) throw missingLocally(desc);
    const bytes = await store.readBytes(desc.digest);
    const body = JSON.parse(bytes.toString("utf8")) as Partial<Manifest & Index>;
    const mediaType = body.mediaType ?? desc.mediaType;
    if (isIndexType(mediaType) || Array.isArray(body.manifests)) {
      await Promise.all((body.manifests ?? []).map((child) => pushTree(child, false)));
    } else if (body.config && Array.isArray(body.layers)) {
      await Promise.all([body.config, ...body.layers].map((b) => pushBlob(b)));
    } else {
      throw registryError("MANIFEST_INVALID", `pushing ${ref.familiar}: ${desc.digest} is neither an image manifest nor an index`, ctx);
    }
    if (!top) await client.putManifest(ref, desc.digest, mediaType, bytes, signal);
    return bytes;
  };

  const bytes = await pushTree(descriptor, true);
  const body = JSON.parse(bytes.toString("utf8")) as { mediaType?: string };
  const mediaType = body.mediaType ?? descriptor.mediaType;
  const tags = [...new Set([...(ref.tag !== undefined ? [ref.tag] : []), ...(opts.extraTags ?? [])])];
  let digest: Digest | undefined;
  for (const tag of tags) {
    digest = await client.putManifest(withTag(ref, tag), tag, mediaType, bytes, signal);
    opts.onProgress?.({ kind: "manifest-pushed", ref: withTag(ref, tag).full, digest });
  }
  if (digest === undefined) digest = await client.putManifest(ref, descriptor.digest, mediaType, bytes, signal);
  if (ref.digest !== undefined && ref.digest !== digest) {
    throw registryError("DIGEST_MISMATCH", `pushing ${ref.familiar}: the image's digest is ${digest}, not the ${ref.digest} the reference names`, ctx);
  }
  await sources?.flush().catch(() => {});
  return { ref, digest, bytesUploaded: stats.uploaded, blobsMounted: stats.mounted, blobsSkipped: stats.skipped };
}
