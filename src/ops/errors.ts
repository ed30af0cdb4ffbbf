import { TsbuildError, type TsbuildErrorOptions } from "../errors.js";

/** Stable codes of the ops room (besides `TSB_EXEC_FAILED`, see {@link ExecError}). */
export type OpsErrorCode =
  | "TSB_OPS_BAD_GRAPH"
  | "TSB_OPS_BAD_INPUT"
  | "TSB_OPS_UNSUPPORTED"
  | "TSB_OPS_CONTEXT_NOT_FOUND"
  | "TSB_OPS_SECRET_MISSING"
  | "TSB_OPS_SSH_MISSING"
  | "TSB_OPS_MOUNT"
  | "TSB_OPS_IMAGE_NOT_FOUND"
  | "TSB_OPS_HTTP_FAILED"
  | "TSB_OPS_HTTP_CHECKSUM"
  | "TSB_OPS_OCI_LAYOUT"
  | "TSB_OPS_PLATFORM";

/** A problem of a concrete op: bad graph shape, missing secret or context, unsupported feature, download failure. */
export class OpsError extends TsbuildError {
  constructor(code: OpsErrorCode, message: string, options: TsbuildErrorOptions = {}) {
    super(code, message, options);
    this.name = "OpsError";
  }
}

/** Go's %q for the strings BuildKit quotes in its exec error (close enough: JSON escaping). */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

/**
 * A RUN command exited non-zero. Code `TSB_EXEC_FAILED`; the message is BuildKit's:
 * `process "/bin/sh -c false" did not complete successfully: exit code: 1`.
 */
export class ExecError extends TsbuildError {
  /** The process's exit status (128+N when killed by signal N). */
  readonly exitCode: number;
  /** The argv that was run. */
  readonly command: readonly string[];
  constructor(command: readonly string[], exitCode: number) {
    super("TSB_EXEC_FAILED", `process ${goQuote(command.join(" "))} did not complete successfully: exit code: ${exitCode}`, {
      hint: "see the command's output above; fix the command or what it depends on",
    });
    this.name = "ExecError";
    this.exitCode = exitCode;
    this.command = command;
  }
}
