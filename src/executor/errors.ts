import { TsbuildError, type TsbuildErrorOptions } from "../errors.js";

/** Stable codes of the executor room. */
export type ExecutorErrorCode =
  | "TSB_EXECUTOR_SESSION"
  | "TSB_EXECUTOR_NOT_IN_SESSION"
  | "TSB_EXECUTOR_NATIVE"
  | "TSB_EXECUTOR_SETUP"
  | "TSB_EXECUTOR_USER"
  | "TSB_EXECUTOR_EXEC"
  | "TSB_EXECUTOR_SPEC";

/** An error of the rootless session or of the sandbox around a RUN (not the command's own failure). */
export class ExecutorError extends TsbuildError {
  constructor(code: ExecutorErrorCode, message: string, options: TsbuildErrorOptions = {}) {
    super(code, message, options);
    this.name = "ExecutorError";
  }
}
