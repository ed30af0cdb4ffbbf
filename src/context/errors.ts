/**
 * context errors: every failure of the build-context room, each with a stable `TSB_CONTEXT_*` code, a message
 * naming the path and a one-line hint. Raw fs errors are kept as `cause`, never shown as the message.
 */
import { TsbuildError, type ErrorCode, type TsbuildErrorOptions } from "../errors.js";

/** Base class of the context room's errors. `path` is the context-relative path concerned, when there is one. */
export class ContextError extends TsbuildError {
  readonly path: string | undefined;
  constructor(code: ErrorCode, message: string, path: string | undefined, options: TsbuildErrorOptions = {}) {
    super(code, message, options);
    this.name = "ContextError";
    this.path = path;
  }
}

/** The context root is missing or not a directory. */
export class ContextRootError extends ContextError {
  constructor(root: string, why: string, cause?: unknown) {
    super("TSB_CONTEXT_ROOT", `build context ${root} ${why}`, undefined, {
      cause,
      hint: "pass an existing directory as the build context (the last argument of `tsbuild build`)",
    });
    this.name = "ContextRootError";
  }
}

/** A source path that does not exist in the context (possibly because it points outside it). */
export class ContextNotFoundError extends ContextError {
  constructor(path: string, explanation: string) {
    super("TSB_CONTEXT_NOT_FOUND", `${JSON.stringify(path)}: ${explanation}`, path, {
      hint: "check the path: sources are relative to the build context root and cannot reach outside it",
    });
    this.name = "ContextNotFoundError";
  }
}

/** A source path that exists but is excluded by an ignore file. */
export class ContextExcludedError extends ContextError {
  readonly file: string;
  readonly line: number;
  readonly pattern: string;
  constructor(path: string, file: string, line: number, pattern: string) {
    super("TSB_CONTEXT_EXCLUDED", `${JSON.stringify(path)} is excluded by ${file} line ${line} (${pattern})`, path, {
      hint: `remove or narrow that pattern, or add an exception such as "!${path}" after it`,
    });
    this.name = "ContextExcludedError";
    this.file = file;
    this.line = line;
    this.pattern = pattern;
  }
}

/** Too many symbolic links while resolving a path (a loop). */
export class ContextSymlinkLoopError extends ContextError {
  constructor(path: string) {
    super("TSB_CONTEXT_SYMLINK_LOOP", `too many levels of symbolic links resolving ${JSON.stringify(path)}`, path, {
      hint: "a symlink in the build context points (directly or indirectly) back to itself; fix or remove it",
    });
    this.name = "ContextSymlinkLoopError";
  }
}

/** A malformed pattern in an ignore file or an --exclude option. */
export class ContextPatternError extends ContextError {
  readonly file: string;
  readonly line: number;
  constructor(pattern: string, file: string, line: number, cause?: unknown) {
    const where = line > 0 ? `${file} line ${line}` : file;
    super("TSB_CONTEXT_BAD_PATTERN", `invalid pattern ${JSON.stringify(pattern)} in ${where}`, undefined, {
      cause,
      hint: "fix the pattern: check for an unclosed [ class, a lone !, or a trailing backslash",
    });
    this.name = "ContextPatternError";
    this.file = file;
    this.line = line;
  }
}

/** A file or directory in the context could not be read. */
export class ContextReadError extends ContextError {
  constructor(path: string, why: string, cause?: unknown) {
    super("TSB_CONTEXT_READ", `cannot read ${JSON.stringify(path)} in the build context: ${why}`, path, {
      cause,
      hint: "check the file's permissions, or exclude it in .dockerignore",
    });
    this.name = "ContextReadError";
  }
}

/** Short reason for an fs error code, without leaking the raw library message. */
export function describeFsError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ENOENT":
      return "no such file or directory";
    case "ENOTDIR":
      return "a path component is not a directory";
    case "ENAMETOOLONG":
      return "path too long";
    case "ELOOP":
      return "too many levels of symbolic links";
    case "EISDIR":
      return "is a directory";
    default:
      return typeof code === "string" ? `I/O error (${code})` : "I/O error";
  }
}

/** A checksum a context could not answer without hashing more than OpenContextOptions.maxHashedEntries entries. */
export class ContextNotMemoizedError extends ContextError {
  constructor(path: string) {
    super("TSB_CONTEXT_NOT_MEMOIZED", `the checksum of ${JSON.stringify(path)} is not memoized for what the context holds now`, path, {
      hint: "open the context without maxHashedEntries to hash it",
    });
    this.name = "ContextNotMemoizedError";
  }
}
