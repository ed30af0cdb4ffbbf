/**
 * The Dockerfile AST: one node per instruction, with exact physical source ranges. Shape follows BuildKit's
 * parser.Node (Value/Next/Heredocs/Flags/Attributes/Original/StartLine/EndLine) so `dumpAst()` can print the
 * same s-expressions as BuildKit's `Node.Dump()`.
 */
import type { SourceRange } from "../errors.js";

export interface Heredoc {
  /** The delimiter word, unquoted (e.g. `EOF`). */
  readonly name: string;
  /** The body, lines joined with "\n" and ending in "\n" (tabs already stripped for `<<-`). */
  readonly content: string;
  /** File descriptor for RUN heredocs (`3<<EOF`), 0 by default. */
  readonly fileDescriptor: number;
  /** False when the delimiter was quoted (`<<"EOF"` / `<<'EOF'`): no expansion of the body. */
  readonly expand: boolean;
  /** True for `<<-EOF` (leading tabs stripped). */
  readonly chomp: boolean;
}

export interface InstructionNode {
  /** The instruction keyword, lower-cased: `from`, `run`, `copy`, ... (unknown keywords too, for later errors). */
  readonly keyword: string;
  /** The keyword as written (for casing checks). */
  readonly keywordRaw: string;
  /** The logical line as written, continuations joined (BuildKit's `Original`). */
  readonly original: string;
  /** Leading `--name[=value]` flags, verbatim (`--mount=type=cache,target=/root/.cache`). */
  readonly flags: readonly string[];
  /**
   * The arguments after the flags, as BuildKit's `Next` chain: for JSON form the array elements; for shell form
   * of RUN/CMD/ENTRYPOINT/SHELL one string; for ENV/LABEL key, value pairs; for others the split words.
   */
  readonly args: readonly string[];
  /** True when the arguments were given in JSON (exec) form. */
  readonly json: boolean;
  /**
   * ENV/LABEL only: true for the legacy `KEY value` form (`args` is then `[key, rest-of-line]`); absent for the
   * `k=v …` form. BuildKit's dump prints "" instead of "=" as the separator for it.
   */
  readonly legacyKeyValue?: boolean;
  /** Heredocs of RUN/COPY/ADD (for ONBUILD, those of its nested instruction sit here too, as in BuildKit). */
  readonly heredocs: readonly Heredoc[];
  /** ONBUILD's nested instruction. */
  readonly nested?: InstructionNode;
  /** Comments directly above the instruction (without `#`), for lint rules. */
  readonly comments: readonly string[];
  /** From the first character of the keyword to the last character of the last physical line (heredoc bodies included). */
  readonly range: SourceRange;
  /** Physical start and end lines (BuildKit StartLine/EndLine). */
  readonly startLine: number;
  readonly endLine: number;
}

export interface Directive {
  readonly name: string;
  readonly value: string;
  readonly range: SourceRange;
}

export interface ParseWarning {
  /** Lint rule name when the warning is a rule (e.g. `NoEmptyContinuation`), else a short code. */
  readonly rule: string;
  readonly message: string;
  readonly range: SourceRange;
}

export interface Ast {
  readonly filename: string;
  readonly text: string;
  readonly directives: readonly Directive[];
  /** The escape character in effect (`\` or `` ` ``). */
  readonly escape: "\\" | "`";
  readonly nodes: readonly InstructionNode[];
  readonly warnings: readonly ParseWarning[];
}
