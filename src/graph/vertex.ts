import { sha256, type Digest } from "../util/digest.js";
import { GraphError } from "./errors.js";
import { deepFreeze, encodeCanonical } from "./op-json.js";
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
  return digestOp(op, inputs, false);
}

/**
 * `sha256(canonicalJson({op: digestableOp(op), inputs: [[digest, output], …]}))`, encoded in one pass (no copy of
 * the op without proxyEnv); with `freeze`, the op is deep-frozen on the way.
 */
function digestOp(op: Op, inputs: readonly Edge[], freeze: boolean): Digest {
  // Keys in canonical order: "inputs" < "op".
  let s = '{"inputs":[';
  for (let i = 0; i < inputs.length; i++) {
    const e = inputs[i]!;
    s += `${i > 0 ? "," : ""}[${encodeCanonical(e.vertex.digest, false)},${encodeCanonical(e.output, false)}]`;
  }
  s += '],"op":';
  if (op.kind === "exec") {
    s += encodeCanonical(op, freeze, "proxyEnv");
    if (freeze) deepFreeze(op.proxyEnv);
  } else {
    s += encodeCanonical(op, freeze);
  }
  return sha256(`${s}}`);
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
  const digest = digestOp(op, inputs, true); // deep-freezes the op on the way
  return Object.freeze({
    digest,
    op,
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
