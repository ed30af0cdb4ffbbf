/**
 * ops: the concrete ops behind build-graph vertices (BuildKit's llbsolver/ops) — image/local/http sources, RUN,
 * merge (COPY --link), file ops — plus the resolver that hands them to the solver, the cache store of their
 * results and base-image resolution (local image db, then registry). Ops never parse Dockerfiles or render progress.
 */
export type { OpDeps, OpResult, SecretSource, SshSource, ImageResolveOptions } from "./types.js";
export { ExecError, OpsError, type OpsErrorCode } from "./errors.js";
export { toSolverGraph, createOpResolver, type GraphSolverVertex, type FileOpFactory, type OpEnv, type OpResolverOptions } from "./resolver.js";
export { createOpCacheStore } from "./cache-store.js";
export {
  ImageResolver,
  asImageMetaResolver,
  createImageResolver,
  imageContextKey,
  type ImageContextSource,
  type ImageResolverDeps,
  type ResolvedBaseImage,
  type ResolvedLayer,
} from "./image-resolver.js";
export { DEFAULT_PATH, execEnv, execOpDigest } from "./exec.js";
export { ingestOciLayoutImage, type OciLayoutSelector } from "./source-oci-layout.js";
export { createFileOp } from "./file.js";
export { explainEnv } from "./explain-facts.js";
