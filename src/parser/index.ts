/**
 * parser: Dockerfile text → Ast (directives, instruction nodes with exact source ranges, warnings), and the
 * BuildKit-compatible s-expression dump. Pure: takes a string, never a path; never prints; never lets a chevrotain
 * exception out (every failure is a ParseError with code TSB_PARSE_*). Then Ast → typed Dockerfile (toDockerfile:
 * words stay raw, errors are InstructionError TSB_INSTR_*) and BuildKit-exact word expansion (expandWord*).
 */
export { parseDockerfile, type ParseOptions } from "./parse.js";
export { dumpAst } from "./dump.js";
export { ParseError, type ParseErrorCode } from "./parse-error.js";
export type { Ast, Directive, Heredoc, InstructionNode, ParseWarning } from "./ast.js";
export { toDockerfile, INSTRUCTION_NAMES } from "./to-instructions.js";
export { InstructionError, type InstructionErrorCode } from "./instructions-errors.js";
export { expandWord, expandWords, expandWordWithMatches, ExpandError, type ExpandEnv, type ExpandOptions, type ExpandResult, type ExpandErrorCode } from "./expand.js";
export { parseMount, type Mount, type MountType, type MountSharing } from "./mounts.js";
export { parseGoDuration } from "./instructions-duration.js";
export type {
  Dockerfile, Stage, Instruction, InstructionKind, InstructionBase, KeyValue, ArgDef, CommandLine, InlineFile, SourceContent,
  SourcesAndDest, NetworkMode, SecurityMode, RunInstruction, CmdInstruction, EntrypointInstruction, EnvInstruction,
  LabelInstruction, MaintainerInstruction, ExposeInstruction, AddInstruction, CopyInstruction, VolumeInstruction,
  UserInstruction, WorkdirInstruction, ArgInstruction, OnbuildInstruction, StopSignalInstruction, Healthcheck,
  HealthcheckInstruction, ShellInstruction,
} from "./instructions.js";
