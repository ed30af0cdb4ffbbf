import { describe, expect, it } from "@jest/globals";
import { setTimeout as sleep } from "node:timers/promises";
import { sha256, type Digest } from "../../../src/util/digest.js";
import type { ProgressEvent } from "../../../src/progress/events.js";
import {
  CancelledError,
  VertexError,
  solve,
  type CacheKeyRecord,
  type CacheStore,
  type Op,
  type OpResolver,
  type SolverVertex,
} from "../../../src/solver/index.js";

/** A fake vertex: its op concatenates the inputs' values with its own `value`, after `delay` ms. */
interface FakeVertex extends SolverVertex {
  readonly inputs: readonly FakeVertex[];
  readonly value: string;
  readonly seed: string;
  readonly delay?: number;
  readonly fail?: string;
  /** Key this vertex by the content of input 0 instead of its cache key. */
  readonly contentDep?: boolean;
}

let counter = 0;
function v(value: string, inputs: FakeVertex[] = [], extra: Partial<FakeVertex> = {}): FakeVertex {
  const seed = extra.seed ?? value;
  const digest = sha256(JSON.stringify([seed, inputs.map((i) => i.digest), counter++]));
  return { digest, name: `vertex ${value}`, value, seed, inputs, ...extra };
}

class FakeCache implements CacheStore<string> {
  readonly entries = new Map<string, string>();
  loads = 0;
  async load(key: Digest): Promise<string | undefined> {
    this.loads++;
    return this.entries.get(key);
  }
  async save(key: Digest, result: string, _record: CacheKeyRecord): Promise<void> {
    this.entries.set(key, result);
  }
}

class FakeResolver implements OpResolver<string> {
  readonly execs: string[] = [];
  running = 0;
  maxRunning = 0;
  readonly finished: string[] = [];
  resolve(vertex: SolverVertex): Op<string> {
    const fv = vertex as FakeVertex;
    return {
      heavy: true,
      cacheMap: async () => ({
        opDigest: sha256(`op:${fv.seed}`),
        deps: fv.inputs.map((_, i) =>
          i === 0 && fv.contentDep ? { computeDigest: async (r: string) => sha256(`content:${r}`) } : {},
        ),
      }),
      exec: async (inputs, ctx) => {
        this.execs.push(fv.value);
        this.running++;
        this.maxRunning = Math.max(this.maxRunning, this.running);
        try {
          if (fv.delay) await sleep(fv.delay, undefined, { signal: ctx.signal }).catch(() => {});
          if (fv.fail) throw new Error(fv.fail);
          if (ctx.signal.aborted) throw new Error("aborted");
          return inputs.join("+") + (inputs.length ? ">" : "") + fv.value;
        } finally {
          this.running--;
          this.finished.push(fv.value);
        }
      },
    };
  }
}

describe("solver scheduler", () => {
  it("evaluates a diamond, each vertex once", async () => {
    const base = v("base");
    const left = v("left", [base]);
    const right = v("right", [base]);
    const top = v("top", [left, right]);
    const r = new FakeResolver();
    const out = await solve(top, { resolver: r, cache: new FakeCache() });
    expect(out.result).toBe("base>left+base>right>top");
    expect(r.execs.sort()).toEqual(["base", "left", "right", "top"]);
    expect(out.vertices.filter((o) => !o.cached)).toHaveLength(4);
  });

  it("deduplicates vertices with equal digests", async () => {
    const a = v("a");
    const a2 = { ...a };
    const top = v("top", [a, a2]);
    const r = new FakeResolver();
    await solve(top, { resolver: r, cache: new FakeCache() });
    expect(r.execs.filter((x) => x === "a")).toHaveLength(1);
  });

  it("runs independent heavy ops in parallel up to the concurrency", async () => {
    const leaves = [1, 2, 3, 4].map((i) => v(`leaf${i}`, [], { delay: 30 }));
    const top = v("top", leaves);
    const r2 = new FakeResolver();
    await solve(top, { resolver: r2, cache: new FakeCache(), execConcurrency: 2 });
    expect(r2.maxRunning).toBe(2);
    const r1 = new FakeResolver();
    await solve(v("top", [1, 2, 3].map((i) => v(`x${i}`, [], { delay: 10 }))), {
      resolver: r1,
      cache: new FakeCache(),
      execConcurrency: 1,
    });
    expect(r1.maxRunning).toBe(1);
  });

  it("reuses cached results without evaluating inputs of a hit", async () => {
    const cache = new FakeCache();
    const mk = (): FakeVertex => v("top", [v("mid", [v("base", [], { seed: "base" })], { seed: "mid" })], { seed: "top" });
    await solve(mk(), { resolver: new FakeResolver(), cache });
    const r = new FakeResolver();
    const events: ProgressEvent[] = [];
    const out = await solve(mk(), { resolver: r, cache, progress: (e) => events.push(e) });
    expect(out.result).toBe("base>mid>top");
    expect(r.execs).toEqual([]);
    // Only the root was looked up and reported: its inputs were never needed.
    expect(out.vertices.map((o) => [o.name, o.cached])).toEqual([["vertex top", true]]);
    expect(events.map((e) => e.type)).toEqual(["vertex.cached"]);
    // Their keys are still reported (for --explain), as never evaluated.
    expect(out.unevaluated.map((o) => [o.name, o.cached]).sort()).toEqual([["vertex base", true], ["vertex mid", true]]);
    expect(out.unevaluated.find((o) => o.name === "vertex mid")?.record.deps[0]?.inputKey).toBe(out.unevaluated.find((o) => o.name === "vertex base")?.cacheKey);
  });

  it("marks vertices that ignored the cache", async () => {
    const cache = new FakeCache();
    await solve(v("top", [], { seed: "t" }), { resolver: new FakeResolver(), cache });
    const out = await solve(v("top", [], { seed: "t", ignoreCache: true }), { resolver: new FakeResolver(), cache });
    expect(out.vertices.map((o) => [o.cached, o.ignoredCache])).toEqual([[false, true]]);
    expect(out.unevaluated).toEqual([]);
  });

  it("a changed input changes every key above it", async () => {
    const cache = new FakeCache();
    await solve(v("top", [v("mid", [v("base")])]), { resolver: new FakeResolver(), cache });
    const r = new FakeResolver();
    await solve(v("top", [v("mid", [v("base2")])]), { resolver: r, cache });
    expect(r.execs).toEqual(["base2", "mid", "top"]);
  });

  it("keys a content dependency by content, not by the input's key", async () => {
    const cache = new FakeCache();
    // Two different inputs (different seeds → different keys) that produce the same value.
    const first = v("top", [v("same", [], { seed: "s1" })], { contentDep: true });
    await solve(first, { resolver: new FakeResolver(), cache });
    const r = new FakeResolver();
    const out = await solve(v("top", [v("same", [], { seed: "s2" })], { contentDep: true }), { resolver: r, cache });
    expect(r.execs).toEqual(["same"]);
    expect(out.vertices.find((o) => o.name === "vertex top")?.cached).toBe(true);
    expect(out.vertices.find((o) => o.name === "vertex top")?.record.deps[0]?.contentDigest).toBe(sha256("content:same"));
  });

  it("ignoreCache re-runs a vertex whose key is cached", async () => {
    const cache = new FakeCache();
    await solve(v("a", [], { seed: "a" }), { resolver: new FakeResolver(), cache });
    const r = new FakeResolver();
    await solve(v("a", [], { seed: "a", ignoreCache: true }), { resolver: r, cache });
    expect(r.execs).toEqual(["a"]);
  });

  it("an ignoreCache input makes its consumers run too, unless they key by its content (--no-cache-filter)", async () => {
    const cache = new FakeCache();
    const chain = (ignore: boolean, contentTop = false): FakeVertex =>
      v("top", [v("mid", [v("base", [], { seed: "b", ...(ignore ? { ignoreCache: true } : {}) })], { seed: "m" })], { seed: "t", contentDep: contentTop });
    await solve(chain(false), { resolver: new FakeResolver(), cache });
    const r = new FakeResolver();
    const out = await solve(chain(true), { resolver: r, cache });
    // Without the rule, "top" hits by its definition key and "base" never runs: the filter would change nothing.
    expect(r.execs.sort()).toEqual(["base", "mid", "top"]);
    expect(out.vertices.filter((o) => o.ignoredCache).map((o) => o.name).sort()).toEqual(["vertex base", "vertex mid", "vertex top"]);
    // A consumer keyed by the content of a re-run input hits when that content did not change.
    await solve(chain(false, true), { resolver: new FakeResolver(), cache });
    const r2 = new FakeResolver();
    const out2 = await solve(chain(true, true), { resolver: r2, cache });
    expect(r2.execs.sort()).toEqual(["base", "mid"]);
    expect(out2.vertices.find((o) => o.name === "vertex top")?.cached).toBe(true);
  });

  it("the first failure cancels the rest and waits for them to stop", async () => {
    const slow = v("slow", [], { delay: 5000 });
    const bad = v("bad", [], { delay: 20, fail: "exit code 2" });
    const top = v("top", [slow, bad]);
    const r = new FakeResolver();
    const events: ProgressEvent[] = [];
    const t0 = Date.now();
    const err = await solve(top, { resolver: r, cache: new FakeCache(), progress: (e) => events.push(e) }).catch((e) => e);
    expect(err).toBeInstanceOf(VertexError);
    expect((err as VertexError).vertex.name).toBe("vertex bad");
    expect((err as VertexError).message).toBe("exit code 2");
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r.finished.sort()).toEqual(["bad", "slow"]);
    expect(r.running).toBe(0);
    expect(r.execs).not.toContain("top");
    expect(events.filter((e) => e.type === "vertex.error")).toHaveLength(2);
  });

  it("an external abort cancels the build", async () => {
    const ac = new AbortController();
    const r = new FakeResolver();
    const p = solve(v("top", [v("slow", [], { delay: 5000 })]), { resolver: r, cache: new FakeCache(), signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(r.running).toBe(0);
  });

  it("settles only after a cancelled heavy op has finished its own clean-up", async () => {
    const ac = new AbortController();
    let cleaned = false;
    const resolver: OpResolver<string> = {
      resolve: () => ({
        heavy: true,
        cacheMap: async () => ({ opDigest: sha256("op:slow-cleanup"), deps: [] }),
        exec: async (_inputs, ctx) => {
          await new Promise<void>((res) => ctx.signal.addEventListener("abort", () => res(), { once: true }));
          await sleep(100); // e.g. unmount and remove the step's snapshot
          cleaned = true;
          throw ctx.signal.reason;
        },
      }),
    };
    const p = solve(v("cleanup"), { resolver, cache: new FakeCache(), signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(cleaned).toBe(true);
  });

  it("reports a step stopped by an external abort as cancelled, even when its op rethrows the abort reason", async () => {
    const ac = new AbortController();
    const events: ProgressEvent[] = [];
    const resolver: OpResolver<string> = {
      resolve: () => ({
        heavy: true,
        cacheMap: async () => ({ opDigest: sha256("op:rethrow"), deps: [] }),
        exec: (_inputs, ctx) =>
          new Promise<string>((_res, rej) => ctx.signal.addEventListener("abort", () => rej(ctx.signal.reason), { once: true })),
      }),
    };
    const p = solve(v("rethrow"), { resolver, cache: new FakeCache(), signal: ac.signal, progress: (e) => events.push(e) });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(events.find((e) => e.type === "vertex.error")).toMatchObject({ error: "cancelled" });
  });
});
