/**
 * Terminal text helpers for the live view: make untrusted log text safe to draw (no escape sequences, no control
 * characters that move the cursor), measure its width in terminal cells, and cut it to a width with an ellipsis.
 * Hand-written rather than string-width/strip-ansi: the view needs only this much, and it keeps start-up small.
 */

// CSI (ESC [ ... final), OSC (ESC ] ... BEL/ST), and two-byte ESC sequences.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const ZERO_WIDTH = /^(?:\p{M}|\p{Cf}|[\u200b-\u200f\ufe00-\ufe0f])$/u;
const PICTOGRAPHIC = /^\p{Extended_Pictographic}$/u;

/**
 * A single display line from raw process output: escape sequences removed, tabs expanded, a carriage return keeps
 * only what a terminal would show last (progress bars rewrite their line with `\r`), other controls dropped.
 */
export function sanitizeLine(raw: string): string {
  let s = raw.replace(ANSI, "");
  if (s.includes("\r")) {
    const parts = s.split("\r").filter((p) => p.length > 0);
    s = parts[parts.length - 1] ?? "";
  }
  if (s.includes("\t")) s = expandTabs(s);
  return s.replace(CONTROL, "");
}

function expandTabs(s: string): string {
  let out = "";
  for (const ch of s) out += ch === "\t" ? " ".repeat(8 - (displayWidth(out) % 8)) : ch;
  return out;
}

/** Width of one code point in terminal cells (0, 1 or 2). */
export function charWidth(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x300) return cp >= 0x20 && cp !== 0x7f ? 1 : 0;
  if (ZERO_WIDTH.test(ch)) return 0;
  if (isWide(cp) || (cp >= 0x1f000 && PICTOGRAPHIC.test(ch))) return 2;
  return 1;
}

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Width of a string without escape sequences, in terminal cells. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch);
  return w;
}

/** Cut `s` (no escape sequences) to at most `width` cells, ending in `…` when something was cut. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return "";
  if (displayWidth(s) <= width) return s;
  let out = "";
  let w = 0;
  for (const ch of s) {
    const cw = charWidth(ch);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

/**
 * `left` and `right` on one line of `width` cells: `right` flush right, `left` truncated to leave room for it.
 * When even `right` does not fit, only the truncated `left` is kept.
 */
export function fitLine(left: string, right: string, width: number): string {
  if (right === "") return truncate(left, width);
  const rw = displayWidth(right);
  if (rw + 2 > width) return truncate(left, width);
  const l = truncate(left, width - rw - 1);
  return l + " ".repeat(width - displayWidth(l) - rw) + right;
}
