/**
 * Physical source handling: splitting text into lines the way BuildKit's scanner does (on "\n", keeping the line
 * ending), and mapping offsets of a logical (continuation-joined) line back to physical line:column positions.
 */
import type { Position, SourceRange } from "../errors.js";

/** One physical line: `raw` keeps its line ending, `text` has trailing "\r"/"\n" removed. */
export interface PhysicalLine {
  /** 1-based line number. */
  readonly line: number;
  readonly raw: string;
  readonly text: string;
}

/** Split like bufio.Scanner with BuildKit's scanLines: every "\n" ends a line, the ending stays in `raw`. */
export function splitPhysicalLines(source: string): PhysicalLine[] {
  const out: PhysicalLine[] = [];
  let start = 0;
  let line = 1;
  while (start < source.length) {
    const nl = source.indexOf("\n", start);
    const end = nl < 0 ? source.length : nl + 1;
    const raw = source.slice(start, end);
    out.push({ line, raw, text: trimNewline(raw) });
    line++;
    start = end;
  }
  return out;
}

/** BuildKit's trimNewline: drop every trailing "\r" and "\n". */
export function trimNewline(s: string): string {
  let end = s.length;
  while (end > 0) {
    const c = s.charCodeAt(end - 1);
    if (c !== 10 && c !== 13) break;
    end--;
  }
  return end === s.length ? s : s.slice(0, end);
}

/** One piece of a logical line: `length` characters starting at `offset` come from `line`:`column`. */
export interface Segment {
  readonly offset: number;
  readonly line: number;
  /** 1-based column of the segment's first character on its physical line. */
  readonly column: number;
}

/**
 * Maps offsets in a logical line (physical lines joined after continuation removal) back to physical positions.
 * Segments are sorted by offset; an offset maps into the last segment starting at or before it.
 */
export class OffsetMap {
  readonly #segments: readonly Segment[];

  constructor(segments: readonly Segment[]) {
    this.#segments = segments;
  }

  /** The physical position of the character at `offset` (offsets past the end extend the last segment). */
  position(offset: number): Position {
    const segs = this.#segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid]!.offset <= offset) lo = mid;
      else hi = mid - 1;
    }
    const seg = segs[lo];
    if (seg === undefined) return { line: 1, column: 1 };
    return { line: seg.line, column: seg.column + Math.max(0, offset - seg.offset) };
  }

  /** The range covering logical offsets `[start, end)` (end exclusive; an empty span covers one character). */
  range(start: number, end: number): SourceRange {
    return { start: this.position(start), end: this.position(Math.max(start, end - 1)) };
  }
}

/** A range covering whole physical lines `first`..`last` (columns 1 to the last character of `last`). */
export function linesRange(lines: readonly PhysicalLine[], first: number, last: number): SourceRange {
  const lastText = lines[last - 1]?.text ?? "";
  return { start: { line: first, column: 1 }, end: { line: last, column: Math.max(1, lastText.length) } };
}
