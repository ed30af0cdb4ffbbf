/**
 * The image source op (FROM): keyed by the pinned manifest digest and platform; running it only makes sure every
 * layer blob is in the store (pulling the missing ones) and returns a ref over them. Nothing is unpacked here:
 * layers become snapshots the first time a RUN or COPY mounts the ref.
 */
import { canonicalJson } from "../util/canonical-json.js";
import { sha256 } from "../util/digest.js";
import { parseReference } from "../image/index.js";
import type { ImageSource, Vertex } from "../graph/index.js";
import type { ExecContext, Op } from "../solver/index.js";
import type { OpEnv } from "./resolver.js";
import type { OpResult } from "./types.js";

export function createImageSourceOp(_vertex: Vertex, source: ImageSource, env: OpEnv): Op<OpResult> {
  const resolve = (signal: AbortSignal) => env.images.resolve(source.ref, source.platform, signal);
  return {
    async cacheMap(ctx: ExecContext) {
      const img = await resolve(ctx.signal);
      const platform = { os: source.platform.os, architecture: source.platform.architecture, variant: source.platform.variant ?? "" };
      return {
        opDigest: sha256(canonicalJson({ v: 1, type: "image", digest: img.manifest.digest, platform })),
        deps: [],
        explain: { image: source.ref, resolved: img.ref, digest: img.manifest.digest, platform },
      };
    },
    async exec(_inputs, ctx: ExecContext): Promise<OpResult> {
      const img = await resolve(ctx.signal);
      const { store, registry, refs } = env.deps;
      const missing = [];
      for (const l of img.layers) if (!(await store.has(l.descriptor.digest))) missing.push(l.descriptor);
      if (missing.length > 0) {
        const digest = ctx.vertex.digest;
        await registry.pull(parseReference(img.ref), store, {
          platform: source.platform,
          signal: ctx.signal,
          onProgress: (e) => {
            if (e.kind === "blob-start") ctx.progress({ type: "vertex.progress", digest, id: `${e.digest} pull`, current: 0, total: e.size, time: Date.now() });
            else if (e.kind === "blob-done") ctx.progress({ type: "vertex.progress", digest, id: `${e.digest} pull`, current: e.size, total: e.size, time: Date.now() });
          },
        });
      }
      await env.images.recordPulled(source.ref);
      const ref = refs.fromImage(
        img.layers.map((l) => ({ diffId: l.diffId, blob: { digest: l.descriptor.digest, size: l.descriptor.size, mediaType: l.descriptor.mediaType } })),
      );
      return { kind: "fs", ref, image: { ref: img.ref, config: img.config } };
    },
  };
}
