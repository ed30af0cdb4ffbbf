/**
 * Progress events: what the solver, ops and exporters report while a build runs. Renderers (tty, plain, rawjson)
 * consume them; producers never format text. Every event names its vertex by digest.
 */
import type { SourceRange } from "../errors.js";

export interface VertexInfo {
  /** The vertex digest (stable id across the build). */
  readonly digest: string;
  /** Display name, e.g. `[build 2/5] RUN make`. */
  readonly name: string;
  /** Dockerfile ranges of the instruction(s) behind the vertex. */
  readonly source?: readonly SourceRange[];
  /** Hidden vertices (internal helpers) are not rendered by default. */
  readonly hidden?: boolean;
}

export type ProgressEvent =
  /** The vertex is known and waits (for its inputs or a free exec slot). Optional: renderers work without it. */
  | { readonly type: "vertex.waiting"; readonly vertex: VertexInfo; readonly time: number }
  | { readonly type: "vertex.started"; readonly vertex: VertexInfo; readonly time: number }
  | { readonly type: "vertex.cached"; readonly vertex: VertexInfo; readonly time: number }
  | { readonly type: "vertex.log"; readonly digest: string; readonly stream: 1 | 2; readonly data: Uint8Array; readonly time: number }
  | {
      readonly type: "vertex.progress";
      readonly digest: string;
      /** What is being counted, e.g. `sha256:abc… pull`, `exporting layer`. */
      readonly id: string;
      readonly current: number;
      readonly total?: number;
      /**
       * Set for a status (BuildKit's VertexStatus: `exporting layers`, `naming to …`) rather than a byte counter:
       * false while it runs, true once it is done. `current`/`total` are then bytes only when non-zero.
       */
      readonly completed?: boolean;
      /** When the status started (ms since the epoch), for its duration. */
      readonly started?: number;
      readonly time: number;
    }
  | { readonly type: "vertex.done"; readonly digest: string; readonly time: number }
  | { readonly type: "vertex.error"; readonly digest: string; readonly error: string; readonly time: number }
  | { readonly type: "warning"; readonly message: string; readonly source?: readonly SourceRange[]; readonly time: number };

/** A sink for progress events. Must not throw; must be cheap (called on hot paths). */
export type ProgressSink = (event: ProgressEvent) => void;

export const noProgress: ProgressSink = () => {};
