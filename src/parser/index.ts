/**
 * parser: Dockerfile text → Ast (directives, instruction nodes with exact source ranges, warnings), and the
 * BuildKit-compatible s-expression dump. Pure: takes a string, never a path; never prints; never lets a chevrotain
 * exception out (every failure is a ParseError with code TSB_PARSE_*).
 */
export { parseDockerfile, type ParseOptions } from "./parse.js";
export { dumpAst } from "./dump.js";
export { ParseError, type ParseErrorCode } from "./parse-error.js";
export type { Ast, Directive, Heredoc, InstructionNode, ParseWarning } from "./ast.js";
