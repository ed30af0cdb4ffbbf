/**
 * The registry room's entry object: one Transport (pools, tokens, retry budget, queues) shared by resolve, pull
 * and push for the length of one command. Close it (or `await using`) when the command ends.
 */
import type { ContentStore } from "../store/index.js";
import type { ImageReference } from "../image/index.js";
import type { Descriptor, Platform } from "../image/index.js";
import { BlobSources } from "./blob-sources.js";
import { RegistryClient, type ResolvedImage } from "./client.js";
import { StaticCredentials, DockerCredentials, type Credentials } from "./credentials.js";
import { hostPlatform } from "./platform.js";
import { fetchBlob, pullImage } from "./pull.js";
import { pushImage } from "./push.js";
import { Transport, type TransportOptions } from "./transport.js";
import type { PullOptions, PullResult, PushOptions, PushResult, TransferOptions } from "./types.js";
import type { BlobInfo } from "../store/index.js";
import type { Digest } from "../util/digest.js";

/** Options of `openRegistry`. */
export interface RegistryOptions extends TransportOptions {
  /**
   * tsbuild root, for the record of which repositories hold which blobs (enables cross-repository mounts).
   * No record is kept when absent.
   */
  readonly root?: string | undefined;
}

/** A registry session: resolve, pull, push. */
export interface Registry extends AsyncDisposable {
  /** Resolve `ref` to its manifest for `platform` (default: host platform) without downloading blobs. */
  resolve(ref: ImageReference, opts?: { platform?: Platform; signal?: AbortSignal }): Promise<ResolvedImage>;
  /** Pull `ref` into `store`; see PullOptions. */
  pull(ref: ImageReference, store: ContentStore, opts?: PullOptions): Promise<PullResult>;
  /** Push the manifest/index `descriptor` from `store` to `ref`; returns the pushed digest. */
  push(store: ContentStore, descriptor: Descriptor, ref: ImageReference, opts?: PushOptions): Promise<PushResult>;
  /**
   * Download one blob of `ref`'s repository into `store`, verifying digest and size while streaming (a blob that
   * does not verify is never stored). A blob already in the store is not fetched.
   */
  fetchBlob(ref: ImageReference, desc: Descriptor, store: ContentStore, opts?: TransferOptions): Promise<BlobInfo>;
  /** Remember that `ref`'s repository holds these blobs, so a push to another repository can mount them. */
  noteBlobSources(ref: ImageReference, digests: readonly Digest[]): Promise<void>;
  /** Close keep-alive connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * Open a registry session. Credentials default to Docker's config.json / credential helpers and Podman's
 * auth.json, located through `process.env`.
 */
export function openRegistry(opts: RegistryOptions = {}): Registry {
  const transport = new Transport({ ...opts, credentials: opts.credentials ?? new DockerCredentials() });
  const client = new RegistryClient(transport);
  const sources = opts.root !== undefined ? new BlobSources(opts.root) : undefined;
  return {
    resolve: (ref, o = {}) => client.resolve(ref, o.platform ?? hostPlatform(), { signal: o.signal }),
    pull: (ref, store, o) => pullImage(client, store, ref, o, sources),
    push: (store, descriptor, ref, o) => pushImage(client, store, descriptor, ref, o, sources),
    fetchBlob: (ref, desc, store, o = {}) => fetchBlob(client, store, ref, desc, o, sources),
    noteBlobSources: async (ref, digests) => {
      if (!sources) return;
      for (const d of digests) sources.add(d, ref.name);
      await sources.flush().catch(() => {});
    },
    close: () => transport.close(),
    [Symbol.asyncDispose]: () => transport.close(),
  };
}

/**
 * Check `credentials` against `registry` (`GET /v2/` through its auth flow, as `docker login` does). Resolves on
 * success; throws RegistryError `TSB_REGISTRY_UNAUTHORIZED` (never containing the secret) when they are refused.
 */
export async function verifyLogin(registry: string, credentials: Credentials, opts: TransportOptions = {}): Promise<void> {
  const transport = new Transport({ ...opts, credentials: new StaticCredentials(new Map([[registry, credentials]])) });
  try {
    const res = await transport.send({
      registry, method: "GET", path: "/v2/", scopes: [], accept: [200],
      ctx: { registry, action: `logging in to ${registry}`, push: false },
    });
    await res.body.dump();
  } finally {
    await transport.close();
  }
}
