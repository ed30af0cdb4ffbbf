/**
 * tsbuild's public Node API: named re-exports only.
 */
export { TsbuildError, UsageError, type ErrorCode, type Position, type SourceRange, type SourceLocation } from "./errors.js";
export { parseDockerfile, dumpAst, ParseError, type ParseOptions, type ParseErrorCode, type Ast, type Directive, type Heredoc, type InstructionNode, type ParseWarning } from "./parser/index.js";
