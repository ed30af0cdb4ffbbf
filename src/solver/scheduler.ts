import { availableParallelism } from "node:os";
import PQueue from "p-queue";
import type { Digest } from "../util/digest.js";
import { noProgress, type ProgressSink, type VertexInfo } from "../progress/events.js";
import { computeCacheKey } from "./cache-key.js";
import { CancelledError, VertexError } from "./errors.js";
import type { CacheKeyRecord, ExecContext, SolveOptions, SolveResult, SolverVertex, VertexOutcome } from "./types.js";

/**
 * Solves a DAG: each vertex once (deduplicated by digest), independent vertices in parallel, heavy ops through a
 * bounded queue. Keys are computed top-down before results, so a cache hit never evaluates its inputs (except
 * inputs whose content feeds the key). The first failure aborts the rest; solve() settles only after every running
 * op has stopped.
 */
export async function solve<R>(root: SolverVertex, opts: SolveOptions<R>): Promise<SolveResult<R>> {
  return new Solve(opts).run(root);
}

class Solve<R> {
  readonly #opts: SolveOptions<R>;
  readonly #progress: ProgressSink;
  readonly #abort = new AbortController();
  readonly #queue: PQueue;
  readonly #keys = new Map<string, Promise<CacheKeyRecord>>();
  readonly #results = new Map<string, Promise<R>>();
  readonly #running = new Set<Promise<unknown>>();
  readonly #outcomes: VertexOutcome[] = [];
  /** Vertices whose key was asked for, by digest (to report those never evaluated). */
  readonly #keyed = new Map<string, SolverVertex>();
  /**
   * Vertices that may not load from the cache: `ignoreCache` ones, and those with an input keyed by definition
   * (not content) that may not either — a consumer must not match a record through an input forced to re-run
   * (BuildKit's rule), or `--no-cache-filter` on a stage used only by later, cached steps would change nothing.
   */
  readonly #uncached = new Set<string>();
  #firstError: unknown;

  constructor(opts: SolveOptions<R>) {
    this.#opts = opts;
    this.#progress = opts.progress ?? noProgress;
    this.#queue = new PQueue({ concurrency: Math.max(1, opts.execConcurrency ?? availableParallelism()) });
  }

  async run(root: SolverVertex): Promise<SolveResult<R>> {
    const outer = this.#opts.signal;
    const onAbort = (): void => this.#fail(new CancelledError(outer?.reason));
    if (outer?.aborted) throw new CancelledError(outer.reason);
    outer?.addEventListener("abort", onAbort, { once: true });
    try {
      const result = await this.#track(this.#result(root));
      return { result, vertices: this.#outcomes, unevaluated: await this.#unevaluated() };
    } catch (err) {
      this.#fail(err);
      // Let every op that is still running observe the abort and stop before we report.
      while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
      throw this.#firstError;
    } finally {
      outer?.removeEventListener("abort", onAbort);
    }
  }

  /** Outcomes of vertices that were keyed but never needed (a dependent hit the cache). */
  async #unevaluated(): Promise<VertexOutcome[]> {
    const out: VertexOutcome[] = [];
    for (const [digest, v] of this.#keyed) {
      if (this.#results.has(digest)) continue;
      const record = await this.#keys.get(digest)!;
      out.push({ digest, name: v.name, cacheKey: record.key, cached: true, record });
    }
    return out;
  }

  #fail(err: unknown): void {
    if (this.#firstError === undefined) this.#firstError = err;
    if (!this.#abort.signal.aborted) this.#abort.abort(err);
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#running.add(p);
    const done = (): void => void this.#running.delete(p);
    p.then(done, done);
    return p;
  }

  #info(v: SolverVertex): VertexInfo {
    return { digest: v.digest, name: v.name, source: v.source, hidden: v.hidden };
  }

  #ctx(v: SolverVertex): ExecContext {
    return { signal: this.#abort.signal, progress: this.#progress, vertex: this.#info(v) };
  }

  #checkAborted(): void {
    if (this.#abort.signal.aborted) throw this.#firstError ?? new CancelledError();
  }

  /** The cache key of a vertex (memoized by digest). */
  #key(v: SolverVertex): Promise<CacheKeyRecord> {
    let p = this.#keys.get(v.digest);
    if (!p) {
      p = this.#track(this.#computeKey(v));
      this.#keys.set(v.digest, p);
      this.#keyed.set(v.digest, v);
    }
    return p;
  }

  async #computeKey(v: SolverVertex): Promise<CacheKeyRecord> {
    const op = this.#opts.resolver.resolve(v);
    const [inputKeys, cm] = await Promise.all([
      Promise.all(v.inputs.map((i) => this.#key(i))),
      this.#wrap(v, () => op.cacheMap(this.#ctx(v))),
    ]);
    if (cm.deps.length !== v.inputs.length) {
      throw new VertexError(this.#info(v), new Error(`op cache map has ${cm.deps.length} deps for ${v.inputs.length} inputs`));
    }
    const deps = await Promise.all(
      cm.deps.map(async (dep, i) => {
        const input = v.inputs[i]!;
        const inputKey = inputKeys[i]!.key;
        if (!dep.computeDigest) return { inputKey, selector: dep.selector };
        const res = await this.#result(input);
        const contentDigest = await this.#wrap(v, () => dep.computeDigest!(res, this.#abort.signal));
        return { inputKey, contentDigest, selector: dep.selector };
      }),
    );
    if (v.ignoreCache || deps.some((d, i) => d.contentDigest === undefined && this.#uncached.has(v.inputs[i]!.digest))) this.#uncached.add(v.digest);
    const key = computeCacheKey(cm.opDigest, deps);
    return { key, opDigest: cm.opDigest, deps, explain: cm.explain };
  }

  /** The result of a vertex (memoized by digest): a cache hit, or its op run on its inputs' results. */
  #result(v: SolverVertex): Promise<R> {
    let p = this.#results.get(v.digest);
    if (!p) {
      p = this.#track(this.#computeResult(v));
      this.#results.set(v.digest, p);
    }
    return p;
  }

  async #computeResult(v: SolverVertex): Promise<R> {
    const record = await this.#key(v);
    this.#checkAborted();
    const info = this.#info(v);
    const uncached = this.#uncached.has(v.digest);
    if (!uncached) {
      const hit = await this.#opts.cache.load(record.key as Digest, this.#abort.signal);
      if (hit !== undefined) {
        this.#progress({ type: "vertex.cached", vertex: info, time: Date.now() });
        this.#outcomes.push({ digest: v.digest, name: v.name, cacheKey: record.key, cached: true, record });
        return hit;
      }
    }
    const inputs = await Promise.all(v.inputs.map((i) => this.#result(i)));
    this.#checkAborted();
    const op = this.#opts.resolver.resolve(v);
    const exec = async (): Promise<R> => {
      this.#checkAborted();
      this.#progress({ type: "vertex.started", vertex: info, time: Date.now() });
      try {
        const out = await op.exec(inputs, this.#ctx(v));
        this.#checkAborted();
        await this.#opts.cache.save(record.key, out, record);
        this.#progress({ type: "vertex.done", digest: v.digest, time: Date.now() });
        return out;
      } catch (err) {
        // Stopped by the abort: the op threw some error of its own, or the abort reason itself (a cancellation).
        const aborted = this.#abort.signal.aborted && (err !== this.#firstError || err instanceof CancelledError);
        this.#progress({
          type: "vertex.error",
          digest: v.digest,
          error: aborted ? "cancelled" : err instanceof Error ? err.message : String(err),
          time: Date.now(),
        });
        throw aborted ? (this.#firstError ?? err) : err instanceof VertexError ? err : new VertexError(info, err);
      }
    };
    // The queue's signal drops a heavy op that has not started; one that has started is tracked itself, because the
    // queue rejects its promise at the abort while the op may still be cleaning up (unmounts, snapshot removal).
    const out = op.heavy ? await this.#queue.add(() => this.#track(exec()), { signal: this.#abort.signal }) : await exec();
    this.#outcomes.push({ digest: v.digest, name: v.name, cacheKey: record.key, cached: false, record, ...(uncached ? { ignoredCache: true } : {}) });
    return out as R;
  }

  async #wrap<T>(v: SolverVertex, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw err instanceof VertexError || err instanceof CancelledError ? err : new VertexError(this.#info(v), err);
    }
  }
}
