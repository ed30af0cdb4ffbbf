import { TsbuildError, type ErrorCode, type TsbuildErrorOptions } from "../errors.js";

/** Errors found while turning a Dockerfile into a build graph (`TSB_FRONTEND_*`); they carry the Dockerfile location. */
export class FrontendError extends TsbuildError {
  constructor(code: ErrorCode, message: string, options: TsbuildErrorOptions = {}) {
    super(code, message, options);
    this.name = "FrontendError";
  }
}
