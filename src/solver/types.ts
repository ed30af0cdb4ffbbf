/**
 * The solver's contracts. The solver is generic: it knows vertices, ops, cache maps and cache keys, never files,
 * sandboxes or registries (BuildKit's solver/types.go). Concrete ops live in src/ops and are found through an
 * injected OpResolver; results are opaque values of type R (in tsbuild: snapshot refs).
 */
import type { Digest } from "../util/digest.js";
import type { ProgressSink, VertexInfo } from "../progress/events.js";
import type { SourceRange } from "../errors.js";

/** A node of the build graph as the solver sees it. src/graph vertices satisfy this structurally. */
export interface SolverVertex {
  /** Checksum of the definition up to this vertex, including all of its inputs. Equal digests are solved once. */
  readonly digest: string;
  readonly inputs: readonly SolverVertex[];
  /** Display name for progress (`[stage 2/5] RUN make`). Not part of the digest. */
  readonly name: string;
  readonly source?: readonly SourceRange[];
  /** Skip the cache lookup for this vertex (`--no-cache`, `--no-cache-filter`); the result is still saved. */
  readonly ignoreCache?: boolean;
  readonly hidden?: boolean;
}

/** How one input contributes to the cache key. */
export interface CacheDep<R> {
  /**
   * Content-based key for this input (BuildKit's ComputeDigestFunc): e.g. the checksum of the files a COPY reads
   * from it. When present it replaces the input's own cache key in this vertex's key, so unrelated changes in
   * the input do not bust this vertex. Needs the input's result.
   */
  readonly computeDigest?: (input: R, signal: AbortSignal) => Promise<Digest>;
  /** A selector that narrows what of the input is used (e.g. a path); part of the key. */
  readonly selector?: string;
}

export interface CacheMap<R> {
  /** Digest of the op's definition, without inputs. Must exclude anything that must not reach a key (secrets). */
  readonly opDigest: Digest;
  /** One entry per input, in order. */
  readonly deps: readonly CacheDep<R>[];
  /** Human-readable facts that went into opDigest, kept for `--explain` (never secret values). */
  readonly explain?: Readonly<Record<string, unknown>>;
}

export interface ExecContext {
  readonly signal: AbortSignal;
  readonly progress: ProgressSink;
  readonly vertex: VertexInfo;
}

export interface Op<R> {
  cacheMap(ctx: ExecContext): Promise<CacheMap<R>>;
  exec(inputs: readonly R[], ctx: ExecContext): Promise<R>;
  /** Ops that do heavy work (RUN) run through the exec queue; light ones (metadata, sources) do not. */
  readonly heavy?: boolean;
}

export interface OpResolver<R> {
  resolve(vertex: SolverVertex): Op<R>;
}

/** What went into one cache key, kept per build so a later build can explain a miss. */
export interface CacheKeyRecord {
  readonly key: Digest;
  readonly opDigest: Digest;
  readonly deps: readonly { readonly inputKey: Digest; readonly contentDigest?: Digest; readonly selector?: string }[];
  readonly explain?: Readonly<Record<string, unknown>>;
}

export interface CacheStore<R> {
  /** A previously saved result for this key, or undefined. May be lazy (the result can be a cheap handle). */
  load(key: Digest, signal: AbortSignal): Promise<R | undefined>;
  save(key: Digest, result: R, record: CacheKeyRecord): Promise<void>;
}

export interface SolveOptions<R> {
  readonly resolver: OpResolver<R>;
  readonly cache: CacheStore<R>;
  /** Concurrency of heavy ops. @default the CPU count */
  readonly execConcurrency?: number;
  readonly signal?: AbortSignal;
  readonly progress?: ProgressSink;
}

export interface VertexOutcome {
  readonly digest: string;
  readonly name: string;
  readonly cacheKey: Digest;
  readonly cached: boolean;
  readonly record: CacheKeyRecord;
  /**
   * Set when the vertex skipped the cache lookup: `ignoreCache` (`--no-cache`, `--no-cache-filter`), or an input
   * keyed by definition skipped it.
   */
  readonly ignoredCache?: true;
}

export interface SolveResult<R> {
  readonly result: R;
  /** Every vertex evaluated for this solve, in completion order. */
  readonly vertices: readonly VertexOutcome[];
  /**
   * Vertices whose cache key was computed but whose result was never needed, because a dependent hit the cache
   * (reported as `cached: true`). Together with `vertices` this covers every key of the build, for `--explain`.
   */
  readonly unevaluated: readonly VertexOutcome[];
}
