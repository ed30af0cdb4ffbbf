/**
 * The bridge between the build graph and the generic solver: graph vertices become solver vertices (carrying the
 * graph vertex), and an OpResolver turns each into the concrete op for its kind.
 */
import type { Edge, Vertex } from "../graph/index.js";
import type { Op, OpResolver, SolverVertex } from "../solver/index.js";
import type { BuildContext } from "../context/index.js";
import { assertNever } from "../errors.js";
import { OpsError } from "./errors.js";
import { createImageResolver, type ImageResolver } from "./image-resolver.js";
import { createExecOp } from "./exec.js";
import { createFileOp } from "./file.js";
import { createMergeOp } from "./merge.js";
import { createImageSourceOp } from "./source-image.js";
import { createLocalSourceOp } from "./source-local.js";
import { createHttpSourceOp, type HttpDownloads } from "./source-http.js";
import type { OpDeps, OpResult } from "./types.js";

/** A solver vertex that carries the graph vertex it stands for. */
export interface GraphSolverVertex extends SolverVertex {
  readonly vertex: Vertex;
  readonly inputs: readonly GraphSolverVertex[];
}

/** Builds the op of a file vertex (COPY/ADD/mkdir/…); implemented in src/ops/file.ts. */
export type FileOpFactory = (vertex: Vertex, deps: OpDeps, opts?: { readonly ignoreCache?: boolean }) => Op<OpResult>;

/** Per-build state shared by the ops of one build (memoized lookups). Internal to the ops room. */
export interface OpEnv {
  readonly deps: OpDeps;
  readonly images: ImageResolver;
  /** The named local context, opened once per build. */
  context(name: string): Promise<BuildContext>;
  readonly downloads: HttpDownloads;
}

/** Options of {@link createOpResolver}. */
export interface OpResolverOptions {
  /**
   * The build's image resolver, so ops see the digests the frontend was given.
   * @default a new resolver over `deps`
   */
  readonly imageResolver?: ImageResolver;
  /** The file-op implementation. @default src/ops/file.ts's createFileOp */
  readonly createFileOp?: FileOpFactory;
}

/**
 * Adapt a graph (given by its root edge) to the solver. Shared sub-graphs stay shared (one solver vertex per
 * digest). Every Dockerfile edge uses output 0; other outputs are rejected.
 */
export function toSolverGraph(root: Edge): GraphSolverVertex {
  const memo = new Map<string, GraphSolverVertex>();
  const visit = (edge: Edge, user: string): GraphSolverVertex => {
    if (edge.output !== 0) {
      throw new OpsError("TSB_OPS_BAD_GRAPH", `${user} uses output ${edge.output} of ${JSON.stringify(edge.vertex.options.name)}; only output 0 is supported`, {
        hint: "this is a bug in the frontend that built the graph",
      });
    }
    const v = edge.vertex;
    const known = memo.get(v.digest);
    if (known) return known;
    const o = v.options;
    const sv: GraphSolverVertex = Object.freeze({
      digest: v.digest,
      name: o.name,
      vertex: v,
      inputs: v.inputs.map((e) => visit(e, JSON.stringify(o.name))),
      ...(o.source !== undefined ? { source: o.source } : {}),
      ...(o.ignoreCache ? { ignoreCache: true } : {}),
    });
    memo.set(v.digest, sv);
    return sv;
  };
  return visit(root, "the build result");
}

/** The OpResolver for one build: dispatches on the op kind. Ops of the same vertex digest are created once. */
export function createOpResolver(deps: OpDeps, opts: OpResolverOptions = {}): OpResolver<OpResult> {
  const contexts = new Map<string, Promise<BuildContext>>();
  const env: OpEnv = {
    deps,
    images: opts.imageResolver ?? createImageResolver(deps),
    downloads: new Map(),
    context(name) {
      let p = contexts.get(name);
      if (!p) {
        const open = deps.contexts.get(name);
        if (!open) {
          const known = [...deps.contexts.keys()].join(", ") || "none";
          return Promise.reject(new OpsError("TSB_OPS_CONTEXT_NOT_FOUND", `no build context named ${JSON.stringify(name)} (known: ${known})`, {
            hint: "pass it with --build-context NAME=PATH",
          }));
        }
        p = open();
        contexts.set(name, p);
      }
      return p;
    },
  };
  const fileOp = opts.createFileOp ?? createFileOp;
  const ops = new Map<string, Op<OpResult>>();
  return {
    resolve(sv: SolverVertex): Op<OpResult> {
      const v = (sv as Partial<GraphSolverVertex>).vertex;
      if (!v) throw new OpsError("TSB_OPS_BAD_GRAPH", `solver vertex ${sv.name} carries no graph vertex`, { hint: "build solver vertices with toSolverGraph()" });
      let op = ops.get(v.digest);
      if (op) return op;
      const kind = v.op;
      switch (kind.kind) {
        case "source":
          switch (kind.source.type) {
            case "image":
              op = createImageSourceOp(v, kind.source, env);
              break;
            case "local":
              op = createLocalSourceOp(kind.source, env);
              break;
            case "http":
              op = createHttpSourceOp(v, kind.source, env);
              break;
            default:
              return assertNever(kind.source, "source");
          }
          break;
        case "exec":
          op = createExecOp(v, kind, env);
          break;
        case "file":
          op = fileOp(v, deps, { ignoreCache: sv.ignoreCache === true });
          break;
        case "merge":
          op = createMergeOp(v, kind, env);
          break;
        default:
          return assertNever(kind, "op");
      }
      ops.set(v.digest, op);
      return op;
    },
  };
}
