/**
 * Errors of the exporter room (`TSB_EXPORT_*`). Bad `-o` specs are `UsageError`s (`TSB_USAGE`) instead, so the CLI
 * exits 2 for them.
 */
import { TsbuildError, type TsbuildErrorOptions } from "../errors.js";

/** Stable codes raised by src/exporter. */
export type ExportErrorCode =
  /** The image config handed to the exporter cannot be exported (missing os/architecture, …). */
  | "TSB_EXPORT_INVALID_CONFIG"
  /** Writing an output (file, directory, stream) failed. */
  | "TSB_EXPORT_WRITE"
  /** Pushing the image to a registry failed. */
  | "TSB_EXPORT_PUSH"
  /** A layer of a stored image is not in the store (compressing it for a push is impossible). */
  | "TSB_EXPORT_LAYER_MISSING";

export class ExportError extends TsbuildError {
  declare readonly code: ExportErrorCode;
  constructor(code: ExportErrorCode, message: string, options: TsbuildErrorOptions = {}) {
    super(code, message, options);
    this.name = "ExportError";
  }
}
