import { canonicalJson } from "../util/canonical-json.js";
import { sha256, type Digest } from "../util/digest.js";
import { GraphError } from "./errors.js";
import type { BuildGraph, Edge, Op, Vertex, VertexOptions } from "./types.js";

/** The part of an op that is digested: everything except `proxyEnv`. */
export function digestableOp(op: Op): unknown {
  if (op.kind === "exec" && op.proxyEnv !== undefined) {
    const { proxyEnv: _ignored, ...rest } = op;
    return rest;
  }
  return op;
}

/** sha256 of the canonical op definition plus the digests and output indexes of the inputs. */
export function computeDigest(op: Op, inputs: readonly Edge[]): Digest {
  return sha256(canonicalJson({ op: digestableOp(op), inputs: inputs.map((e) => [e.vertex.digest, e.output]) }));
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function checkInputs(op: Op, inputs: readonly Edge[]): void {
  const n = inputs.length;
  const check = (i: number | null, what: string): void => {
    if (i !== null && (!Number.isInteger(i) || i < 0 || i >= n)) {
      throw new GraphError("TSB_GRAPH_BAD_INPUT", `${op.kind} op: ${what} refers to input ${i}, but the vertex has ${n} input(s)`);
    }
  };
  switch (op.kind) {
    case "source":
      if (n !== 0) throw new GraphError("TSB_GRAPH_BAD_INPUT", "source op: a source vertex takes no inputs");
      return;
    case "exec":
      for (const m of op.mounts) if (m.type === "bind" || m.type === "cache") check(m.input, `mount ${m.dest}`);
      return;
    case "file":
      check(op.base, "base");
      for (const a of op.actions) if (a.action === "copy") check(a.src, `copy ${a.srcPath}`);
      return;
    case "merge":
      for (const i of op.inputs) check(i, "merge input");
      return;
  }
}

/**
 * Create a frozen vertex. The op and options are deep-frozen, so they must not be mutated afterwards
 * (pass fresh objects).
 */
export function createVertex(op: Op, inputs: readonly Edge[], options: VertexOptions): Vertex {
  checkInputs(op, inputs);
  const digest = computeDigest(op, inputs);
  return Object.freeze({
    digest,
    op: deepFreeze(op),
    inputs: Object.freeze(inputs.map((e) => Object.freeze({ vertex: e.vertex, output: e.output }))),
    options: deepFreeze(options),
  });
}

/** All vertices reachable from `roots`, inputs before the vertices that use them; duplicates (same digest) once. */
export function collectVertices(roots: readonly (Edge | null)[]): Vertex[] {
  const out: Vertex[] = [];
  const seen = new Set<Digest>();
  // Iterative post-order so 10,000-step chains do not overflow the stack.
  const stack: { v: Vertex; next: number }[] = [];
  for (const r of roots) {
    if (r === null || seen.has(r.vertex.digest)) continue;
    stack.push({ v: r.vertex, next: 0 });
    seen.add(r.vertex.digest);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const input = top.v.inputs[top.next];
      if (input !== undefined) {
        top.next++;
        if (!seen.has(input.vertex.digest)) {
          seen.add(input.vertex.digest);
          stack.push({ v: input.vertex, next: 0 });
        }
        continue;
      }
      stack.pop();
      out.push(top.v);
    }
  }
  return out;
}

/** The graph of everything reachable from `root`. */
export function buildGraph(root: Edge | null, extraRoots: readonly (Edge | null)[] = []): BuildGraph {
  return Object.freeze({ vertices: Object.freeze(collectVertices([root, ...extraRoots])), root });
}
