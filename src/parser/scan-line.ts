/**
 * The hot path of instruction parsing: one logical line → keyword, flags and words, and the JSON exec form, without
 * building tokens or a CST. It follows the chevrotain vocabulary and grammar (tokens.ts, grammar.ts) rule for rule:
 * the token kinds are tried in the lexer's order at each offset, and the grammar
 * `Space? Keyword (Space (Flag | FlagEnd))* (Space Word)* Space?` accepts every token sequence that lexer can produce,
 * except one that starts with a space. The chevrotain grammar stays the reference: a property test compares the
 * two on random lines. Loading it is not needed to parse, which keeps it off the CLI start-up path.
 */
import { GO_SPACE, isGoSpace } from "./directives.js";

/** A word of the line and where it starts (offset in the line). */
export interface ScannedWord {
  readonly image: string;
  readonly startOffset: number;
}

/** What the grammar reads from one instruction line. */
export interface ScannedLine {
  readonly keyword: ScannedWord;
  /** Values of the `--name[=value]` flags (quotes removed, escapes applied); the `--` terminator is not listed. */
  readonly flags: readonly string[];
  readonly words: readonly ScannedWord[];
}

/** Characters of Go's regexp `[\t\v\f\r ]` (BuildKit's reWhitespace), which ends the instruction keyword. */
export function isReWhitespace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d && code !== 0x0a);
}

/** The value of a `--flag` word after BuildKit's extractBuilderFlags: quotes removed, escapes applied. */
export function scanFlag(text: string, offset: number, escape: string): { end: number; value: string } {
  let i = offset;
  let value = "";
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (isGoSpace(c.charCodeAt(0))) break;
    if (c === '"' || c === "'") {
      i++;
      while (i < n) {
        const q = text[i]!;
        if (q === c) {
          i++;
          break;
        }
        if (q === escape) {
          i++;
          if (i < n) value += text[i++];
          continue;
        }
        value += q;
        i++;
      }
      continue;
    }
    if (c === escape) {
      i++;
      if (i < n) value += text[i++];
      continue;
    }
    value += c;
    i++;
  }
  return { end: i, value };
}

/**
 * Source of the shell-like word pattern (BuildKit parseWords): an escape takes the next character, inside "…" too;
 * inside '…' nothing is special; unterminated quotes run to the end.
 */
export function wordPatternSource(escape: "\\" | "`"): string {
  const e = escape === "\\" ? "\\\\" : "`";
  return `(?:[^${GO_SPACE}"'${e}]|${e}[^]?|"(?:[^"${e}]|${e}[^]?)*"?|'[^']*'?)+`;
}

const WORD: Readonly<Record<"\\" | "`", RegExp>> = {
  "\\": new RegExp(wordPatternSource("\\"), "y"),
  "`": new RegExp(wordPatternSource("`"), "y"),
};

/**
 * Scans one logical instruction line. Returns undefined when the grammar rejects it (the line starts with a
 * space, or is empty).
 */
export function scanInstructionLine(text: string, escape: "\\" | "`"): ScannedLine | undefined {
  const n = text.length;
  if (n === 0 || isReWhitespace(text.charCodeAt(0))) return undefined;
  // Keyword: up to the first [\t\v\f\r ] (other Go spaces, such as "\n" or NBSP, stay in it, as in BuildKit).
  let pos = 1;
  while (pos < n && !isReWhitespace(text.charCodeAt(pos))) pos++;
  const keyword: ScannedWord = { image: text.slice(0, pos), startOffset: 0 };
  const flags: string[] = [];
  const words: ScannedWord[] = [];
  // Flags are recognized only right after a space that follows the keyword or another flag.
  let flagsAllowed = true;
  const word = WORD[escape];
  while (pos < n) {
    // A token always ends at a space or at the end of the line, so a space run comes next.
    if (!isGoSpace(text.charCodeAt(pos))) throw new Error(`scanInstructionLine: no space before offset ${pos}`);
    while (pos < n && isGoSpace(text.charCodeAt(pos))) pos++;
    if (pos >= n) break;
    if (flagsAllowed && text.charCodeAt(pos) === 0x2d && text.charCodeAt(pos + 1) === 0x2d) {
      const f = scanFlag(text, pos, escape);
      if (f.value === "--") flagsAllowed = false; // FlagEnd
      else flags.push(f.value);
      pos = f.end;
      continue;
    }
    word.lastIndex = pos;
    const m = word.exec(text);
    if (m === null) throw new Error(`scanInstructionLine: no token at offset ${pos}`);
    words.push({ image: m[0], startOffset: pos });
    pos += m[0].length;
    flagsAllowed = false;
  }
  return { keyword, flags, words };
}

/**
 * The exec form: the elements when `text` is one JSON array whose numbers all fit a float64 (Go's decoder rejects
 * the others, and BuildKit then reads the line as shell form); undefined when it is not. Non-string elements are
 * reported as `{ strings: false }` (the caller turns that into an error).
 */
export function scanJsonArray(text: string): { readonly strings: true; readonly args: string[] } | { readonly strings: false } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || !allFinite(value)) return undefined;
  for (const v of value) if (typeof v !== "string") return { strings: false };
  return { strings: true, args: value as string[] };
}

/** JSON.parse turns numbers beyond float64 into ±Infinity. */
function allFinite(v: unknown): boolean {
  if (typeof v === "number") return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(allFinite);
  if (v !== null && typeof v === "object") return Object.values(v).every(allFinite);
  return true;
}
