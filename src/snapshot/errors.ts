import { TsbuildError, type ErrorCode } from "../errors.js";

/** Snapshotter failures: unknown keys, wrong snapshot state, mount or tool problems. Codes `TSB_SNAPSHOT_*`. */
export class SnapshotError extends TsbuildError {
  constructor(code: `TSB_SNAPSHOT_${string}`, message: string, hint: string, cause?: unknown) {
    super(code as ErrorCode, message, { hint, cause });
    this.name = "SnapshotError";
  }
}

/**
 * Layer export/apply failures. Apply errors always name the offending tar entry (`entry`), so a hostile or
 * corrupt layer can be identified. Codes `TSB_LAYER_*`.
 */
export class LayerError extends TsbuildError {
  /** The tar entry name the error is about, when there is one. */
  readonly entry: string | undefined;
  constructor(code: `TSB_LAYER_${string}`, message: string, hint: string, entry?: string, cause?: unknown) {
    super(code as ErrorCode, message, { hint, cause });
    this.name = "LayerError";
    this.entry = entry;
  }
}

/** Quote an entry name for messages: JSON-escaped, and cut if huge so a hostile name cannot flood the terminal. */
export function quoteEntry(name: string): string {
  const s = name.length > 200 ? `${name.slice(0, 200)}…(${name.length} chars)` : name;
  return JSON.stringify(s);
}
