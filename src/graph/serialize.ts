import { isDigest, type Digest } from "../util/digest.js";
import { GraphError } from "./errors.js";
import type { BuildGraph, Edge, Op, Vertex, VertexOptions } from "./types.js";
import { buildGraph, createVertex } from "./vertex.js";

/** The JSON form of a graph: vertices in dependency order, inputs by digest. */
export interface GraphJson {
  readonly version: 1;
  readonly root: { readonly digest: string; readonly output: number } | null;
  readonly vertices: readonly {
    readonly digest: string;
    readonly op: Op;
    readonly inputs: readonly { readonly digest: string; readonly output: number }[];
    readonly options: VertexOptions;
  }[];
}

export function graphToJson(graph: BuildGraph): GraphJson {
  return {
    version: 1,
    root: graph.root === null ? null : { digest: graph.root.vertex.digest, output: graph.root.output },
    vertices: graph.vertices.map((v) => ({
      digest: v.digest,
      op: v.op,
      inputs: v.inputs.map((e) => ({ digest: e.vertex.digest, output: e.output })),
      options: v.options,
    })),
  };
}

/** Rebuild a graph from its JSON form, recomputing and checking every digest. */
export function graphFromJson(json: GraphJson): BuildGraph {
  if (json.version !== 1) throw new GraphError("TSB_GRAPH_BAD_JSON", `unsupported graph JSON version ${String(json.version)}`);
  const byDigest = new Map<string, Vertex>();
  const edge = (d: string, output: number): Edge => {
    const vertex = byDigest.get(d);
    if (!vertex) throw new GraphError("TSB_GRAPH_BAD_JSON", `graph JSON: input ${d} is not defined before its use`);
    return { vertex, output };
  };
  for (const j of json.vertices) {
    const v = createVertex(structuredClone(j.op), j.inputs.map((i) => edge(i.digest, i.output)), structuredClone(j.options));
    if (v.digest !== j.digest) {
      throw new GraphError("TSB_GRAPH_DIGEST_MISMATCH", `graph JSON: vertex ${j.digest} hashes to ${v.digest}`);
    }
    byDigest.set(v.digest, v);
  }
  return buildGraph(json.root === null ? null : edge(json.root.digest, json.root.output));
}

/** Twelve hex characters of a digest, as BuildKit's progress shows. */
export function shortDigest(d: Digest | string): string {
  return isDigest(d) ? d.slice(7, 19) : d;
}

/** A one-line summary of what an op does (used when a vertex has no progress name). */
export function describeOp(op: Op): string {
  switch (op.kind) {
    case "source":
      if (op.source.type === "image") return `image ${op.source.ref}`;
      if (op.source.type === "local") return `local://${op.source.name}`;
      return op.source.url;
    case "exec":
      return op.meta.args.join(" ");
    case "file":
      return op.actions
        .map((a) => (a.action === "copy" ? `copy ${a.srcPath} ${a.dest}` : a.action === "rm" ? `rm ${a.path}` : `${a.action} ${a.path}`))
        .join("; ");
    case "merge":
      return `merge ${op.inputs.length} inputs`;
  }
}

function label(v: Vertex): string {
  return v.options.name !== "" ? v.options.name : describeOp(v.op);
}

function dotEscape(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Graphviz DOT: one node per vertex (short digest + name), edges from input to user. */
export function graphToDot(graph: BuildGraph): string {
  const lines = ["digraph tsbuild {", "  rankdir=BT;", '  node [shape=box, fontname="monospace"];'];
  for (const v of graph.vertices) {
    const shape = v.op.kind === "source" ? ", shape=ellipse" : "";
    lines.push(`  "${v.digest}" [label="${dotEscape(`${shortDigest(v.digest)} ${v.op.kind}\n${label(v)}`)}"${shape}];`);
  }
  for (const v of graph.vertices) {
    for (const e of v.inputs) lines.push(`  "${e.vertex.digest}" -> "${v.digest}";`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

function mermaidEscape(s: string): string {
  return s.replace(/"/g, "#quot;").replace(/\n/g, "<br/>");
}

/** Mermaid flowchart (renders on GitHub): ids are short digests. */
export function graphToMermaid(graph: BuildGraph): string {
  const id = (v: Vertex): string => `v${shortDigest(v.digest)}`;
  const lines = ["flowchart BT"];
  for (const v of graph.vertices) {
    const text = mermaidEscape(`${v.op.kind}: ${label(v)}`);
    lines.push(v.op.kind === "source" ? `  ${id(v)}(["${text}"])` : `  ${id(v)}["${text}"]`);
  }
  for (const v of graph.vertices) for (const e of v.inputs) lines.push(`  ${id(e.vertex)} --> ${id(v)}`);
  return `${lines.join("\n")}\n`;
}

/**
 * A readable tree from the root down to the sources: each vertex shows its inputs indented below it; a vertex
 * already printed is shown once more as a back-reference (`^ <digest>`), so shared inputs are not repeated.
 */
export function graphToText(graph: BuildGraph): string {
  if (graph.root === null) return "(empty filesystem: scratch)\n";
  const out: string[] = [];
  const printed = new Set<string>();
  // Explicit stack (deep chains); children pushed in reverse so they print in input order. A vertex with a single
  // input continues at the same indentation without a branch glyph, so long stage chains stay readable.
  const stack: { v: Vertex; prefix: string; glyph: "" | "├─ " | "└─ " }[] = [{ v: graph.root.vertex, prefix: "", glyph: "" }];
  while (stack.length > 0) {
    const { v, prefix, glyph } = stack.pop()!;
    const seen = printed.has(v.digest);
    out.push(`${prefix}${glyph}${shortDigest(v.digest)} ${v.op.kind.padEnd(6)} ${label(v)}${seen ? "  (^ above)" : ""}`);
    if (seen) continue;
    printed.add(v.digest);
    const childPrefix = prefix + (glyph === "├─ " ? "│  " : glyph === "└─ " ? "   " : "");
    if (v.inputs.length === 1) {
      stack.push({ v: v.inputs[0]!.vertex, prefix: childPrefix, glyph: "" });
      continue;
    }
    for (let i = v.inputs.length - 1; i >= 0; i--) {
      stack.push({ v: v.inputs[i]!.vertex, prefix: childPrefix, glyph: i === v.inputs.length - 1 ? "└─ " : "├─ " });
    }
  }
  return `${out.join("\n")}\n`;
}
