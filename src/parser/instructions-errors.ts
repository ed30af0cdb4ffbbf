/**
 * InstructionError: an instruction that parsed as text but is not a valid Dockerfile instruction (unknown
 * keyword, bad flag, wrong number of arguments, bad stage name...). Messages follow BuildKit's
 * instructions/parse.go, reworded where BuildKit is cryptic; every error has a hint and the instruction's range.
 */
import { TsbuildError, type SourceLocation } from "../errors.js";

/** Stable codes of instruction errors (match on `code`). */
export type InstructionErrorCode =
  | "TSB_INSTR_UNKNOWN"
  | "TSB_INSTR_UNKNOWN_FLAG"
  | "TSB_INSTR_FLAG_VALUE"
  | "TSB_INSTR_ARGUMENTS"
  | "TSB_INSTR_KEY_VALUE"
  | "TSB_INSTR_NOT_JSON"
  | "TSB_INSTR_HEREDOC"
  | "TSB_INSTR_NO_STAGE"
  | "TSB_INSTR_STAGE_NAME"
  | "TSB_INSTR_DUPLICATE_STAGE"
  | "TSB_INSTR_ONBUILD"
  | "TSB_INSTR_HEALTHCHECK"
  | "TSB_INSTR_MOUNT";

const HINTS: Readonly<Record<InstructionErrorCode, string>> = {
  TSB_INSTR_UNKNOWN: "check the spelling of the instruction keyword (FROM, RUN, COPY, ...)",
  TSB_INSTR_UNKNOWN_FLAG: "check the flag name against the instruction's reference documentation",
  TSB_INSTR_FLAG_VALUE: "write flags as --name=value (booleans: --name or --name=true|false), each at most once",
  TSB_INSTR_ARGUMENTS: "check the number of arguments this instruction takes",
  TSB_INSTR_KEY_VALUE: "write NAME=value pairs with a non-empty NAME, e.g. ENV PATH=/usr/local/bin:$PATH",
  TSB_INSTR_NOT_JSON: 'write the arguments as a JSON array of strings, e.g. SHELL ["/bin/sh", "-c"]',
  TSB_INSTR_HEREDOC: "use a here-document only as a source, never as the destination",
  TSB_INSTR_NO_STAGE: "start the Dockerfile with FROM (only ARG may come before the first FROM)",
  TSB_INSTR_STAGE_NAME: "stage names start with a lower-case letter and contain only a-z, 0-9, '-', '_' and '.'",
  TSB_INSTR_DUPLICATE_STAGE: "give every stage a unique name after AS",
  TSB_INSTR_ONBUILD: "ONBUILD takes one ordinary instruction; FROM, MAINTAINER and ONBUILD cannot be triggers",
  TSB_INSTR_HEALTHCHECK: "durations look like 30s, 1m30s or 500ms; --retries is a non-negative integer",
  TSB_INSTR_MOUNT: "write --mount=type=bind|cache|tmpfs|secret|ssh,target=/path[,key=value...]",
};

/** An invalid instruction, located at the instruction (`location.ranges[0]`). */
export class InstructionError extends TsbuildError {
  declare readonly code: InstructionErrorCode;

  constructor(code: InstructionErrorCode, message: string, options: { location?: SourceLocation; hint?: string } = {}) {
    super(code, message, { hint: options.hint ?? HINTS[code], ...(options.location ? { location: options.location } : {}) });
    this.name = "InstructionError";
  }
}

/** Append BuildKit-style "(did you mean X?)" when there is a suggestion. */
export function didYouMean(message: string, suggestion: string | undefined): string {
  return suggestion === undefined ? message : `${message} (did you mean ${suggestion}?)`;
}
