/**
 * The merge op (COPY --link; BuildKit's MergeOp): the inputs' filesystems layered in order, later ones winning.
 *
 * Fast path: when every input after the first is a single layer on scratch (exactly what COPY --link produces),
 * the result is the first input's layers followed by those layers, unchanged: their blobs are reused as they are
 * (exported once if they were not yet), so the image carries the very same layer whatever the base. Each appended
 * layer gets a snapshot key derived from its parent's key and its diff_id; the snapshot is unpacked from the blob
 * only if something mounts the result.
 *
 * Otherwise: a writable snapshot of the first input, onto which every layer of each later input is applied in
 * order (whiteouts delete), committed as one new layer.
 */
import { canonicalJson } from "../util/canonical-json.js";
import { digestHex, sha256 } from "../util/digest.js";
import { applyLayer } from "../snapshot/index.js";
import type { RefLayer } from "../cache/index.js";
import type { MergeOp, Vertex } from "../graph/index.js";
import type { Op } from "../solver/index.js";
import { OpsError } from "./errors.js";
import { fsInput } from "./inputs.js";
import type { OpEnv } from "./resolver.js";
import type { OpResult } from "./types.js";

export function createMergeOp(vertex: Vertex, op: MergeOp, env: OpEnv): Op<OpResult> {
  return {
    async cacheMap() {
      return { opDigest: sha256(canonicalJson({ v: 1, type: "merge", inputs: op.inputs })), deps: vertex.inputs.map(() => ({})) };
    },
    async exec(inputs, ctx): Promise<OpResult> {
      if (op.inputs.length === 0) throw new OpsError("TSB_OPS_BAD_GRAPH", "merge op without inputs", { hint: "this is a bug in the frontend" });
      const refs = op.inputs.map((i) => fsInput(inputs, i, "merge"));
      const [first, ...rest] = refs;
      const rm = env.deps.refs;
      if (rest.every((r) => r.layers.length === 1)) {
        const layers: RefLayer[] = [...first!.layers];
        for (const r of rest) {
          if (layers.length === 0) {
            layers.push(r.layers[0]!);
            continue;
          }
          const exported = await rm.exportLayer(r, 0, { signal: ctx.signal });
          const parent = layers[layers.length - 1]!.snapshot;
          const snapshot = `merge-${digestHex(sha256(`${parent} ${exported.diffId}`))}`;
          // Keeps the time the layer was built, so a cached rebuild exports the same history times.
          layers.push({ snapshot, diffId: exported.diffId, blob: exported.blob, ...(exported.created !== undefined ? { created: exported.created } : {}) });
        }
        return { kind: "fs", ref: { layers } };
      }
      const active = await rm.prepare(first!, ctx.signal);
      try {
        for (const r of rest) {
          for (let i = 0; i < r.layers.length; i++) {
            const exported = await rm.exportLayer(r, i, { signal: ctx.signal });
            await applyLayer(env.deps.store.path(exported.blob.digest), { mode: "flat", dir: active.path }, { signal: ctx.signal });
          }
        }
        return { kind: "fs", ref: await active.commit() };
      } catch (err) {
        await active.discard().catch(() => {});
        throw err;
      }
    },
  };
}
