/**
 * solver: runs a build graph with a content-addressed cache. Generic: it never touches the filesystem, a sandbox
 * or a registry; ops come from an injected OpResolver and results are opaque. Keeps, per vertex, what went into its
 * cache key so a miss can be explained.
 */
export { solve } from "./scheduler.js";
export { computeCacheKey } from "./cache-key.js";
export { VertexError, CancelledError } from "./errors.js";
export { explainMisses, formatMisses, type BuildRecord, type RecordedStep, type MissExplanation, type MissCause } from "./explain.js";
export type {
  CacheDep,
  CacheKeyRecord,
  CacheMap,
  CacheStore,
  ExecContext,
  Op,
  OpResolver,
  SolveOptions,
  SolveResult,
  SolverVertex,
  VertexOutcome,
} from "./types.js";
