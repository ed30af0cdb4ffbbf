/**
 * File names that are not UTF-8 (a RUN may create any bytes but "/" and NUL; Docker's layers carry them as they
 * are). Node decodes names as UTF-8 and loses such bytes, so the snapshot room keeps a name as a string in which
 * every byte that is not part of valid UTF-8 is the lone surrogate U+DC00+byte (as Python's surrogateescape): valid
 * UTF-8 never decodes to a lone surrogate, so the mapping is exact both ways. fsPath() turns such a string back
 * into the bytes for fs calls, rawBytes() for tar headers; names that are UTF-8 stay plain strings throughout.
 */
import { isUtf8 } from "node:buffer";
import { readdirSync } from "node:fs";

const ESC_LO = 0xdc80;
const ESC_HI = 0xdcff;

/** The name for `raw` bytes: plain UTF-8 decoding when valid, else with escaped bytes (see the file header). */
export function decodeName(raw: Buffer): string {
  if (isUtf8(raw)) return raw.toString("utf8");
  let out = "";
  let i = 0;
  while (i < raw.length) {
    const n = sequenceLength(raw, i);
    if (n === 0) {
      out += String.fromCharCode(0xdc00 + raw[i]!);
      i++;
    } else {
      out += raw.toString("utf8", i, i + n);
      i += n;
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence at `i` (1–4), or 0 when the byte there starts none. */
function sequenceLength(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n === 0 || i + n > b.length) return 0;
  return isUtf8(b.subarray(i, i + n)) ? n : 0;
}

/** Whether `s` holds escaped bytes (then fs calls need fsPath()). */
export function hasEscapes(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= ESC_LO && c <= ESC_HI) return true;
  }
  return false;
}

/** The bytes of a name or path string: escaped bytes as themselves, everything else as UTF-8. */
export function rawBytes(s: string): Buffer {
  if (!hasEscapes(s)) return Buffer.from(s, "utf8");
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < ESC_LO || c > ESC_HI) continue;
    if (i > start) parts.push(Buffer.from(s.slice(start, i), "utf8"));
    parts.push(Buffer.of(c - 0xdc00));
    start = i + 1;
  }
  if (start < s.length) parts.push(Buffer.from(s.slice(start), "utf8"));
  return Buffer.concat(parts);
}

/** A path for Node's fs calls: the string itself, or its bytes when it holds escaped bytes. */
export function fsPath(s: string): string | Buffer {
  return hasEscapes(s) ? rawBytes(s) : s;
}

/** The names in directory `dir`, sorted (layer order within a directory), each kept exact with decodeName. */
export function sortedNames(dir: string): string[] {
  return readdirSync(fsPath(dir), { encoding: "buffer" }).map(decodeName).sort();
}
