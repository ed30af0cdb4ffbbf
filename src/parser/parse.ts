/**
 * parseDockerfile: Dockerfile text → {@link Ast}. Line work (logical-lines.ts) first, then chevrotain per logical
 * line (grammar.ts, cst-to-ast.ts), then heredoc bodies, exactly in BuildKit's order. Pure: never touches the
 * filesystem, never prints; every failure is a {@link ParseError}.
 */
import type { Position, SourceRange } from "../errors.js";
import type { Ast, Directive, Heredoc, InstructionNode, ParseWarning } from "./ast.js";
import { ArgumentError, buildNode, type NodeCore } from "./cst-to-ast.js";
import { HeredocSyntaxError, chompHeredocContent, heredocsFromLine } from "./heredoc.js";
import { LineError, LineReader, directiveRange, type LogicalLine } from "./logical-lines.js";
import { ParseError, type ParseErrorCode } from "./parse-error.js";
import { linesRange, splitPhysicalLines, type PhysicalLine } from "./source.js";

/** Options of {@link parseDockerfile}. */
export interface ParseOptions {
  /** Name shown in errors (as the user gave it); the parser never opens it. */
  readonly filename: string;
}

/** Instructions whose shell-form lines may carry heredocs (BuildKit heredocDirectives). */
const HEREDOC_KEYWORDS: ReadonlySet<string> = new Set(["add", "copy", "run"]);

/**
 * Parses a Dockerfile. Warnings (e.g. NoEmptyContinuation) are returned in `ast.warnings`.
 * @throws ParseError with `location` set (filename, text, range) and a hint.
 */
export function parseDockerfile(text: string, options: ParseOptions): Ast {
  const lines = splitPhysicalLines(text);
  const reader = new LineReader(lines);
  const fail = (code: ParseErrorCode, message: string, range: SourceRange): ParseError =>
    new ParseError(code, message, { filename: options.filename, text, ranges: [range] });
  const nodes: InstructionNode[] = [];
  const warnings: ParseWarning[] = [];
  for (;;) {
    let logical: LogicalLine | undefined;
    try {
      logical = reader.nextInstruction();
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      throw fail(LINE_ERROR_CODES[err.kind], err.message, linesRange(lines, err.line, err.line));
    }
    if (logical === undefined) break;
    const whole = linesRange(lines, logical.startLine, logical.endLine);
    let node: NodeCore;
    try {
      node = buildNode(logical.text, 0, { map: logical.map, escape: reader.escape });
    } catch (err) {
      if (!(err instanceof ArgumentError)) throw err;
      const code = err.kind === "json" ? "TSB_PARSE_JSON_NOT_STRINGS" : "TSB_PARSE_KEY_VALUE";
      throw fail(code, err.message, { start: logical.map.position(0), end: whole.end });
    }
    if (logical.emptyContinuationLine !== undefined) {
      warnings.push({
        rule: "NoEmptyContinuation",
        message: `Empty continuation line found in: ${logical.text}`,
        range: linesRange(lines, logical.emptyContinuationLine, logical.emptyContinuationLine),
      });
    }
    const start = node.start ?? { line: logical.startLine, column: 1 };
    const heredocs = readHeredocs(node, logical, reader, (code, message) =>
      fail(code, message, { start, end: lineEnd(lines, reader.linesRead) }),
    );
    const endLine = reader.linesRead;
    nodes.push(finish(node, heredocs, logical, endLine, lineEnd(lines, endLine)));
  }
  if (nodes.length === 0) {
    const line = Math.max(1, reader.linesRead);
    throw fail("TSB_PARSE_EMPTY", "file with no instructions", linesRange(lines, line, line));
  }
  const directives: Directive[] = reader.directives.map((d) => ({ name: d.name, value: d.value, range: directiveRange(lines, d.line) }));
  return { filename: options.filename, text, directives, escape: reader.escape, nodes, warnings };
}

const LINE_ERROR_CODES: Readonly<Record<LineError["kind"], ParseErrorCode>> = {
  escape: "TSB_PARSE_ESCAPE_INVALID",
  repeated: "TSB_PARSE_DIRECTIVE_REPEATED",
  "too-long": "TSB_PARSE_LINE_TOO_LONG",
};

/** BuildKit canContainHeredoc: RUN/COPY/ADD (also under ONBUILD) in shell form, and the line mentions `<<`. */
function canContainHeredoc(node: NodeCore): boolean {
  const target = node.keyword === "onbuild" && node.nested !== undefined ? node.nested : node;
  return HEREDOC_KEYWORDS.has(target.keyword) && !target.json;
}

function readHeredocs(
  node: NodeCore,
  logical: LogicalLine,
  reader: LineReader,
  fail: (code: ParseErrorCode, message: string) => ParseError,
): Heredoc[] {
  if (!canContainHeredoc(node) || !logical.text.includes("<<")) return [];
  let headers;
  try {
    headers = heredocsFromLine(logical.text);
  } catch (err) {
    if (!(err instanceof HeredocSyntaxError)) throw err;
    throw fail("TSB_PARSE_HEREDOC_INVALID", err.message);
  }
  const out: Heredoc[] = [];
  for (const h of headers) {
    const body = reader.readHeredoc(h.name, h.chomp);
    if (body === undefined) throw fail("TSB_PARSE_HEREDOC_UNTERMINATED", `unterminated heredoc ${h.name}`);
    out.push({ ...h, content: h.chomp ? chompHeredocContent(body) : body });
  }
  return out;
}

function lineEnd(lines: readonly PhysicalLine[], line: number): Position {
  return { line, column: Math.max(1, lines[line - 1]?.text.length ?? 1) };
}

/** The final node: one object literal of a fixed shape (fast property access for later rooms). */
function finish(node: NodeCore, heredocs: readonly Heredoc[], logical: LogicalLine, endLine: number, end: Position): InstructionNode {
  const out: {
    -readonly [K in keyof InstructionNode]: InstructionNode[K];
  } = {
    keyword: node.keyword,
    keywordRaw: node.keywordRaw,
    original: node.original,
    flags: node.flags,
    args: node.args,
    json: node.json,
    heredocs,
    comments: logical.comments,
    range: { start: node.start ?? { line: logical.startLine, column: 1 }, end },
    startLine: logical.startLine,
    endLine,
  };
  if (node.legacyKeyValue) out.legacyKeyValue = true;
  if (node.nested !== undefined) out.nested = finishNested(node.nested, logical, endLine, end);
  return out;
}

function finishNested(node: NodeCore, logical: LogicalLine, endLine: number, end: Position): InstructionNode {
  return finish(node, [], { ...logical, comments: [] }, endLine, end);
}

