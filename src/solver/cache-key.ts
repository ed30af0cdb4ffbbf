import { canonicalJson } from "../util/canonical-json.js";
import { sha256, type Digest } from "../util/digest.js";
import type { CacheKeyRecord } from "./types.js";

/** Version of the key derivation; bump to invalidate every key when the derivation changes. */
const KEY_VERSION = 1;

/**
 * A cache key: sha256 over the op digest and, per input, either its content digest (when the op reads only some
 * content of it) or its own cache key, plus the selector. Order of inputs matters.
 */
export function computeCacheKey(
  opDigest: Digest,
  deps: CacheKeyRecord["deps"],
): Digest {
  return sha256(
    canonicalJson({
      v: KEY_VERSION,
      op: opDigest,
      deps: deps.map((d) => (d.contentDigest ? { content: d.contentDigest, sel: d.selector } : { key: d.inputKey, sel: d.selector })),
    }),
  );
}
