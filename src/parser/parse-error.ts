/**
 * ParseError: every failure of the Dockerfile parser. Codes are stable; messages follow BuildKit's wording so that
 * users who know `docker build` recognise them.
 */
import { TsbuildError, type SourceLocation } from "../errors.js";

/** Stable codes of parse errors (match on `code`). */
export type ParseErrorCode =
  | "TSB_PARSE_EMPTY"
  | "TSB_PARSE_DIRECTIVE_REPEATED"
  | "TSB_PARSE_ESCAPE_INVALID"
  | "TSB_PARSE_HEREDOC_UNTERMINATED"
  | "TSB_PARSE_HEREDOC_INVALID"
  | "TSB_PARSE_JSON_NOT_STRINGS"
  | "TSB_PARSE_KEY_VALUE"
  | "TSB_PARSE_LINE_TOO_LONG";

const HINTS: Readonly<Record<ParseErrorCode, string>> = {
  TSB_PARSE_EMPTY: "add at least one instruction, e.g. `FROM scratch`",
  TSB_PARSE_DIRECTIVE_REPEATED: "keep a single `# <name>=<value>` directive line at the top of the Dockerfile",
  TSB_PARSE_ESCAPE_INVALID: "use `# escape=\\` (the default) or `# escape=`` ` (backtick)",
  TSB_PARSE_HEREDOC_UNTERMINATED: "end the here-document with a line containing only its delimiter word",
  TSB_PARSE_HEREDOC_INVALID: "close the quotes around the here-document delimiter, e.g. <<'EOF'",
  TSB_PARSE_JSON_NOT_STRINGS: 'in the JSON (exec) form every element must be a string: ["executable", "arg"]',
  TSB_PARSE_KEY_VALUE: "write `NAME=value` pairs (quote values that contain spaces), e.g. ENV PATH=/usr/bin",
  TSB_PARSE_LINE_TOO_LONG: "split the line with line continuations or move the data into a file",
};

/** A Dockerfile syntax error, located in the source (`location.ranges[0]`). */
export class ParseError extends TsbuildError {
  declare readonly code: ParseErrorCode;

  constructor(code: ParseErrorCode, message: string, location: SourceLocation, hint: string = HINTS[code]) {
    super(code, message, { location, hint });
    this.name = "ParseError";
  }
}
