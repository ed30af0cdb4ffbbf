/**
 * Errors of the store room. Codes are stable (`TSB_STORE_*`); messages name the blob, file or lock involved.
 */
import { TsbuildError, type TsbuildErrorOptions } from "../errors.js";

/** Stable codes raised by src/store. */
export type StoreErrorCode =
  | "TSB_STORE_DIGEST_MISMATCH"
  | "TSB_STORE_SIZE_MISMATCH"
  | "TSB_STORE_NOT_FOUND"
  | "TSB_STORE_LOCK_TIMEOUT"
  | "TSB_STORE_CORRUPT"
  | "TSB_STORE_IO"
  | "TSB_STORE_INVALID";

/** Any failure of the content store, leases, locks or GC. */
export class StoreError extends TsbuildError {
  declare readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options: TsbuildErrorOptions = {}) {
    super(code, message, options);
    this.name = "StoreError";
  }
}

/** Wrap a raw fs error (never shown to users as-is) into a StoreError naming what was being done. */
export function ioError(what: string, cause: unknown): StoreError {
  if (cause instanceof StoreError) return cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const hint =
    code === "ENOSPC"
      ? "the disk holding the tsbuild root is full; free space or run 'tsbuild prune'"
      : code === "EACCES" || code === "EPERM"
        ? "check permissions of the tsbuild root, or choose another one with --root / TSBUILD_ROOT"
        : "check the tsbuild root directory (--root / TSBUILD_ROOT) and run 'tsbuild du' to inspect it";
  return new StoreError("TSB_STORE_IO", `${what}: ${code ?? (cause instanceof Error ? cause.message : String(cause))}`, {
    cause,
    hint,
  });
}
