/**
 * Parser directives (`# syntax=…`, `# escape=…`, `# check=…`), following BuildKit's DirectiveParser: only at the
 * very top, keys case-insensitive, each key at most once; the first line that is not a directive (a comment, a
 * blank line or an instruction) ends the directive section for good.
 */

/** The directive keys BuildKit recognises. */
export const DIRECTIVE_NAMES: readonly string[] = ["syntax", "escape", "check"];

// Go's regexp `\s` is ASCII [\t\n\f\r ] and `.` is "anything but \n": spelled out so JS matches the same lines.
const DIRECTIVE_RE = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*([^\n]+?)[\t\n\f\r ]*$/;

/** A directive found on one line. */
export interface DirectiveMatch {
  readonly name: string;
  readonly value: string;
}

/** Thrown by {@link DirectiveScanner.scan} when a key repeats; the caller attaches the location. */
export class RepeatedDirectiveError extends Error {
  constructor(readonly directive: string) {
    super(`only one ${directive} parser directive can be used`);
  }
}

/** Line-by-line directive recogniser; feed it every physical line in order (after BOM removal). */
export class DirectiveScanner {
  #done = false;
  readonly #seen = new Set<string>();

  /** True once a non-directive line was seen. */
  get done(): boolean {
    return this.#done;
  }

  /** Returns the directive on `line`, or undefined (and ends the directive section if it is not one). */
  scan(line: string): DirectiveMatch | undefined {
    if (this.#done) return undefined;
    if (!line.startsWith("#")) {
      this.#done = true;
      return undefined;
    }
    const match = DIRECTIVE_RE.exec(trimLeftSpace(line.slice(1)));
    const key = match?.[1]?.toLowerCase();
    if (match === null || key === undefined || !DIRECTIVE_NAMES.includes(key)) {
      this.#done = true;
      return undefined;
    }
    if (this.#seen.has(key)) throw new RepeatedDirectiveError(key);
    this.#seen.add(key);
    return { name: key, value: match[2] ?? "" };
  }
}

/** Go's unicode.IsSpace as a character class body (for regular expressions). */
export const GO_SPACE = "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

/** bytes.TrimLeftFunc(s, unicode.IsSpace). */
export function trimLeftSpace(s: string): string {
  let i = 0;
  while (i < s.length && isGoSpace(s.charCodeAt(i))) i++;
  return i === 0 ? s : s.slice(i);
}

/** strings.TrimSpace (a loop: an unanchored `[…]+$` regex is quadratic on lines with many spaces). */
export function trimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isGoSpace(s.charCodeAt(start))) start++;
  while (end > start && isGoSpace(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** unicode.IsSpace for one UTF-16 code unit (all Go spaces are in the BMP). */
export function isGoSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0x85) return false;
  return (
    code === 0x85 || code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000
  );
}
