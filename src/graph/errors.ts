import { TsbuildError, type ErrorCode, type TsbuildErrorOptions } from "../errors.js";

/** Errors of the graph room: malformed vertices or serialized graphs (`TSB_GRAPH_*`). */
export class GraphError extends TsbuildError {
  constructor(code: ErrorCode, message: string, options: TsbuildErrorOptions = {}) {
    super(code, message, { hint: "this is a bug in the code that built the graph; report it with the Dockerfile", ...options });
    this.name = "GraphError";
  }
}
