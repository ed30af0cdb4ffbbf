/**
 * Line work done before any grammar, as BuildKit's parser.go does: BOM, parser directives, comments, escape-aware
 * line continuation (comment and blank lines inside a continuation are skipped) and here-document bodies. The
 * result is one logical line per instruction with an offset map back to the physical lines.
 */
import type { SourceRange } from "../errors.js";
import { DirectiveScanner, trimLeftSpace, trimSpace } from "./directives.js";
import { OffsetMap, trimNewline, type PhysicalLine, type Segment } from "./source.js";

/** An instruction's text with continuations removed, and where it came from. */
export interface LogicalLine {
  readonly text: string;
  readonly map: OffsetMap;
  readonly startLine: number;
  /** Last physical line consumed (continuation, comment and blank lines included; heredocs not yet). */
  readonly endLine: number;
  /** Comment lines directly above (BuildKit's PrevComment). */
  readonly comments: readonly string[];
  /** The first blank line found inside the continuation, if any (NoEmptyContinuation). */
  readonly emptyContinuationLine: number | undefined;
}

/** A directive line recognised at the top of the file. */
export interface DirectiveLine {
  readonly name: string;
  readonly value: string;
  readonly line: number;
}

/** Problems found while reading lines; parse.ts turns them into located ParseErrors. */
export class LineError extends Error {
  constructor(
    readonly kind: "escape" | "repeated" | "too-long",
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/** Longest line bufio.Scanner accepts by default (bufio.MaxScanTokenSize - 1). */
export const MAX_LINE_BYTES = 65535;

const CONTINUATION: Readonly<Record<"\\" | "`", RegExp>> = {
  "\\": /([^\\])\\[ \t]*$|^\\[ \t]*$/,
  "`": /([^`])`[ \t]*$|^`[ \t]*$/,
};

/** Pulls logical lines and here-document bodies from the physical lines, in file order. */
export class LineReader {
  readonly #lines: readonly PhysicalLine[];
  readonly #directives = new DirectiveScanner();
  readonly #found: DirectiveLine[] = [];
  #escape: "\\" | "`" = "\\";
  /** Index of the next physical line to read (also the number of lines read so far). */
  #next = 0;

  constructor(lines: readonly PhysicalLine[]) {
    this.#lines = lines;
  }

  get escape(): "\\" | "`" {
    return this.#escape;
  }

  get directives(): readonly DirectiveLine[] {
    return this.#found;
  }

  /** Number of physical lines consumed so far (BuildKit's currentLine). */
  get linesRead(): number {
    return this.#next;
  }

  /** The next instruction's logical line, or undefined at end of input. */
  nextInstruction(): LogicalLine | undefined {
    let comments: string[] = [];
    while (this.#next < this.#lines.length) {
      const pl = this.#take();
      let raw = pl.raw;
      let skipped = 0;
      if (pl.line === 1 && raw.charCodeAt(0) === 0xfeff) {
        raw = raw.slice(1);
        skipped = 1;
      }
      if (isComment(raw)) {
        // BuildKit slices off the first byte, not the '#': "  # x" keeps "# x" as the comment text.
        const comment = trimSpace(raw.slice(1));
        if (comment === "") comments = [];
        else comments.push(comment);
      }
      const stripped = trimLeftSpace(trimNewline(raw));
      skipped += trimNewline(raw).length - stripped.length;
      if (this.#directive(stripped, pl.line)) comments.pop();
      const startLine = pl.line;
      let [text, eol] = this.#trimContinuation(isComment(stripped) ? "" : stripped);
      if (eol && text.length === 0) continue;

      const segments: Segment[] = [{ offset: 0, line: startLine, column: skipped + 1 }];
      let emptyContinuationLine: number | undefined;
      while (!eol && this.#next < this.#lines.length) {
        const next = this.#take();
        const line = trimNewline(next.raw);
        this.#directive(line, next.line);
        if (isComment(next.raw)) continue;
        if (trimLeftSpace(line).length === 0) {
          emptyContinuationLine ??= next.line;
          continue;
        }
        let part: string;
        [part, eol] = this.#trimContinuation(line);
        segments.push({ offset: text.length, line: next.line, column: 1 });
        text += part;
      }
      return {
        text,
        map: new OffsetMap(segments),
        startLine,
        endLine: this.#next,
        comments,
        emptyContinuationLine,
      };
    }
    return undefined;
  }

  /**
   * Reads a here-document body up to its terminator line. Returns the raw body (line endings kept) or undefined
   * when the input ends first.
   */
  readHeredoc(name: string, chomp: boolean): string | undefined {
    let content = "";
    while (this.#next < this.#lines.length) {
      const pl = this.#take();
      let candidate = pl.text;
      if (chomp) candidate = candidate.replace(/^\t+/, "");
      if (candidate === name) return content;
      content += pl.raw;
    }
    return undefined;
  }

  #take(): PhysicalLine {
    const pl = this.#lines[this.#next++]!;
    // bufio.Scanner gives up on lines longer than its 64 KiB buffer; UTF-8 needs at most 3 bytes per code unit.
    if (pl.raw.length * 3 > MAX_LINE_BYTES && Buffer.byteLength(pl.raw.endsWith("\n") ? pl.raw.slice(0, -1) : pl.raw) > MAX_LINE_BYTES) {
      throw new LineError("too-long", `dockerfile line greater than max allowed size of ${MAX_LINE_BYTES}`, pl.line);
    }
    return pl;
  }

  /** Feeds the directive scanner; true when the line was a directive. */
  #directive(line: string, lineNo: number): boolean {
    if (this.#directives.done) return false;
    let found;
    try {
      found = this.#directives.scan(line);
    } catch (err) {
      throw new LineError("repeated", (err as Error).message, lineNo);
    }
    if (found === undefined) return false;
    if (found.name === "escape") {
      if (found.value !== "\\" && found.value !== "`") {
        throw new LineError("escape", `invalid escape token '${found.value}' does not match \` or \\`, lineNo);
      }
      this.#escape = found.value;
    }
    this.#found.push({ name: found.name, value: found.value, line: lineNo });
    return true;
  }

  #trimContinuation(line: string): [string, boolean] {
    const re = CONTINUATION[this.#escape];
    const m = re.exec(line);
    if (m === null) return [line, true];
    return [line.slice(0, m.index) + (m[1] ?? ""), false];
  }
}

/** BuildKit's isComment: first non-space character is '#'. */
export function isComment(line: string): boolean {
  return trimLeftSpace(line).startsWith("#");
}

/** A directive line's range (the whole physical line). */
export function directiveRange(lines: readonly PhysicalLine[], line: number): SourceRange {
  const text = lines[line - 1]?.text ?? "";
  return { start: { line, column: 1 }, end: { line, column: Math.max(1, text.length) } };
}
