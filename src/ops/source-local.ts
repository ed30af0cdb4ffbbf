/**
 * The local source op: the build context (or a named context) read straight from disk. Never cached: users of it
 * key on the content they read (context checksums), so the op itself is keyed only by name and patterns.
 */
import { canonicalJson } from "../util/canonical-json.js";
import { sha256 } from "../util/digest.js";
import type { LocalSource } from "../graph/index.js";
import type { Op } from "../solver/index.js";
import type { OpEnv } from "./resolver.js";
import type { OpResult } from "./types.js";

export function createLocalSourceOp(source: LocalSource, env: OpEnv): Op<OpResult> {
  return {
    async cacheMap() {
      const facts = {
        name: source.name,
        include: source.includePatterns ?? [],
        exclude: source.excludePatterns ?? [],
        follow: source.followPaths ?? [],
      };
      return { opDigest: sha256(canonicalJson({ v: 1, type: "local", ...facts })), deps: [], explain: { local: source.name } };
    },
    async exec(): Promise<OpResult> {
      return { kind: "local", context: await env.context(source.name) };
    },
  };
}
