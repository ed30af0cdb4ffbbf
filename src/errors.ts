/**
 * errors: the one error base of tsbuild. Every error a user can see is a TsbuildError with a stable `code`
 * (match on `code`, not on `instanceof`), an optional source location and an optional one-line hint.
 * Rooms subclass it in their own `errors.ts`; this file imports nothing from src.
 */

/** A stable, documented error code, e.g. `TSB_PARSE_UNKNOWN_INSTRUCTION`. Rooms use their own prefix. */
export type ErrorCode = `TSB_${string}`;

/** 1-based line, 1-based column (in UTF-16 code units of the physical line). */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** A range in one source file; `end` is inclusive of the last character. */
export interface SourceRange {
  readonly start: Position;
  readonly end: Position;
}

/** Where an error points: the file name (as the user gave it), its text, and one or more ranges. */
export interface SourceLocation {
  readonly filename: string;
  readonly ranges: readonly SourceRange[];
  /** The full source text, so a renderer can draw the offending lines without touching the filesystem. */
  readonly text?: string;
}

const BRAND = Symbol.for("tsbuild.error");

export interface TsbuildErrorOptions {
  readonly cause?: unknown;
  readonly hint?: string;
  readonly location?: SourceLocation;
}

export class TsbuildError extends Error {
  readonly code: ErrorCode;
  /** One line telling the user what to do about it. */
  hint: string | undefined;
  /** Set by the layer that knows the source (parser, frontend, solver). */
  location: SourceLocation | undefined;

  constructor(code: ErrorCode, message: string, options: TsbuildErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TsbuildError";
    this.code = code;
    this.hint = options.hint;
    this.location = options.location;
  }

  get [BRAND](): true {
    return true;
  }

  /**
   * `x instanceof TsbuildError` holds for errors from another copy of tsbuild too (brand check, as undici does);
   * subclasses keep the ordinary prototype check, so `instanceof ParseError` means exactly that class.
   */
  static [Symbol.hasInstance](this: unknown, value: unknown): boolean {
    if (this !== TsbuildError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** Attach a source location unless one is already set (BuildKit's WithLocation: the innermost wins). */
export function withLocation<E extends TsbuildError>(err: E, location: SourceLocation): E {
  if (err.location === undefined) err.location = location;
  return err;
}

/** A usage error: bad CLI flags or options. The CLI exits 2 for these. */
export class UsageError extends TsbuildError {
  constructor(message: string, options: TsbuildErrorOptions = {}) {
    super("TSB_USAGE", message, options);
    this.name = "UsageError";
  }
}

/** Exhaustiveness guard for discriminated unions. */
export function assertNever(value: never, what = "value"): never {
  throw new TypeError(`unexpected ${what}: ${JSON.stringify(value)}`);
}

export function isTsbuildError(value: unknown): value is TsbuildError {
  return value instanceof TsbuildError;
}
