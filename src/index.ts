/**
 * tsbuild's public Node API: named re-exports only.
 */
export { TsbuildError, UsageError, type ErrorCode, type Position, type SourceRange, type SourceLocation } from "./errors.js";
