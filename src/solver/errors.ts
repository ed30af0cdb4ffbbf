import { TsbuildError } from "../errors.js";
import type { VertexInfo } from "../progress/events.js";

/**
 * An op failed. Keeps the op's own error as `cause` (and its code when it is a TsbuildError, so users can match on
 * e.g. TSB_EXEC_FAILED) and adds the vertex, so renderers can point at the Dockerfile line.
 */
export class VertexError extends TsbuildError {
  readonly vertex: VertexInfo;
  constructor(vertex: VertexInfo, cause: unknown) {
    const inner = cause instanceof TsbuildError ? cause : undefined;
    const message = cause instanceof Error ? cause.message : String(cause);
    super(inner?.code ?? "TSB_SOLVE_OP_FAILED", message, { cause, hint: inner?.hint, location: inner?.location });
    this.name = "VertexError";
    this.vertex = vertex;
  }
}

/** The build was cancelled (signal aborted) before it finished. */
export class CancelledError extends TsbuildError {
  constructor(reason?: unknown) {
    super("TSB_CANCELLED", "build cancelled", { cause: reason });
    this.name = "CancelledError";
  }
}
