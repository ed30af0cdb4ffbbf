import { TsbuildError, type TsbuildErrorOptions } from "../../errors.js";

/** Stable codes of the remote build cache. */
export type RemoteCacheErrorCode =
  /** A `--cache-to` / `--cache-from` spec is malformed. */
  | "TSB_CACHE_REMOTE_SPEC"
  /** A layer blob of an imported cache does not verify (wrong digest or size) or cannot be fetched. */
  | "TSB_CACHE_REMOTE_BLOB"
  /** Writing the cache to its destination failed. */
  | "TSB_CACHE_REMOTE_EXPORT";

/** A problem with a shared (registry, local or inline) build cache. */
export class RemoteCacheError extends TsbuildError {
  /** For TSB_CACHE_REMOTE_BLOB: the blob that failed. */
  readonly digest: string | undefined;

  constructor(code: RemoteCacheErrorCode, message: string, options: TsbuildErrorOptions & { digest?: string } = {}) {
    super(code, message, options);
    this.name = "RemoteCacheError";
    this.digest = options.digest;
  }
}
