/**
 * COPY/ADD --chmod: an octal mode (`0755`; its permission bits replace the source's, whose setuid/setgid/sticky
 * bits stay: Docker 20.10's fsutil applies `(mode &^ 0777) | (chmod & 0777)` to Go FileModes, where 04000/02000/01000
 * are not the special bits, so `--chmod=4755` of a plain file gives 0755 and `--chmod=0700` of a 4755 one 4700) or a
 * symbolic one (`u+x,go-w`, `a=rX`, `g=u`) with BSD setmode semantics at umask 0 (tonistiigi/dchapes-mode).
 */
import { FileOpError } from "./file-errors.js";

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const STANDARD = S_ISUID | S_ISGID | 0o777;

/** One step of a symbolic mode, applied in order. */
type Step =
  | { readonly kind: "set" | "clear" | "X"; readonly bits: number }
  | { readonly kind: "copy"; readonly from: "u" | "g" | "o"; readonly op: "+" | "-" | "="; readonly who: number };

/** A parsed --chmod value: `apply(mode, isDir)` returns the new permission bits (0o7777 range). */
export interface ChmodSpec {
  /** The text as given. */
  readonly text: string;
  apply(mode: number, isDir: boolean): number;
}

/** Parse a --chmod value; throws FileOpError for malformed input. */
export function parseChmod(text: string): ChmodSpec {
  if (/^[0-9]+$/.test(text)) {
    if (!/^[0-7]+$/.test(text) || Number.parseInt(text, 8) > 0o7777) throw badChmod(text);
    const m = Number.parseInt(text, 8) & 0o777;
    return { text, apply: (mode) => (mode & 0o7000) | m };
  }
  const steps = parseSymbolic(text);
  return { text, apply: (mode, isDir) => applySteps(steps, mode & 0o7777, isDir) };
}

function badChmod(text: string): FileOpError {
  return new FileOpError("TSB_OPS_FILE_BAD_CHMOD", `invalid chmod parameter: '${text}'`, {
    hint: "use an octal mode such as 0755 or a symbolic one such as u+x,go-w",
  });
}

function parseSymbolic(text: string): Step[] {
  const steps: Step[] = [];
  let s = text;
  if (s === "") throw badChmod(text);
  for (;;) {
    let who = 0;
    while (s.length > 0 && "augo".includes(s[0]!)) {
      const c = s[0]!;
      who |= c === "a" ? STANDARD : c === "u" ? S_ISUID | 0o700 : c === "g" ? S_ISGID | 0o070 : 0o007;
      s = s.slice(1);
    }
    if (s.length === 0) throw badChmod(text);
    // One or more "op perms" groups share the same who (e.g. `u+x-w`).
    for (;;) {
      const op = s[0];
      if (op !== "+" && op !== "-" && op !== "=") throw badChmod(text);
      s = s.slice(1);
      let perm = 0;
      let permX = 0;
      let whoT = who;
      let equalDone = false;
      const emit = (kind: "+" | "-" | "=", bits: number): void => {
        if (kind === "=") {
          steps.push({ kind: "clear", bits: whoT !== 0 ? whoT : STANDARD });
          steps.push({ kind: "set", bits: whoT !== 0 ? whoT & bits : bits });
        } else steps.push({ kind: kind === "+" ? "set" : "clear", bits: whoT !== 0 ? whoT & bits : bits });
      };
      for (;;) {
        const c = s[0];
        if (c === "r") perm |= 0o444;
        else if (c === "w") perm |= 0o222;
        else if (c === "x") perm |= 0o111;
        else if (c === "X") permX = op === "+" ? 0o111 : permX;
        else if (c === "s") perm |= who === 0 || (who & ~0o007) !== 0 ? S_ISUID | S_ISGID : 0;
        else if (c === "t") {
          if (who === 0 || (who & ~0o007) !== 0) {
            whoT |= S_ISVTX;
            perm |= S_ISVTX;
          }
        } else if (c === "u" || c === "g" || c === "o") {
          if (perm !== 0) emit(op, perm);
          perm = 0;
          if (op === "=") equalDone = true;
          if (permX !== 0) steps.push({ kind: "X", bits: whoT !== 0 ? whoT & permX : permX });
          permX = 0;
          steps.push({ kind: "copy", from: c, op, who: whoT });
        } else {
          if (perm !== 0 || (op === "=" && !equalDone)) emit(op, perm);
          if (permX !== 0) steps.push({ kind: "X", bits: whoT !== 0 ? whoT & permX : permX });
          break;
        }
        s = s.slice(1);
      }
      if (s.length === 0) return steps;
      if (s[0] === ",") {
        s = s.slice(1);
        break;
      }
    }
  }
}

function applySteps(steps: readonly Step[], original: number, isDir: boolean): number {
  let m = original;
  for (const st of steps) {
    switch (st.kind) {
      case "set":
        m |= st.bits;
        break;
      case "clear":
        m &= ~st.bits;
        break;
      case "X":
        if ((original & 0o111) !== 0 || isDir) m |= st.bits;
        break;
      case "copy": {
        const value = st.from === "u" ? (m >> 6) & 7 : st.from === "g" ? (m >> 3) & 7 : m & 7;
        const mask = st.who !== 0 ? ~0 : STANDARD;
        const classes = st.who !== 0 ? [st.who & 0o400 ? 6 : -1, st.who & 0o040 ? 3 : -1, st.who & 0o004 ? 0 : -1] : [6, 3, 0];
        for (const shift of classes) {
          if (shift < 0) continue;
          if (st.op !== "+") m &= ~(((st.op === "=" ? 7 : value) << shift) & mask);
          if (st.op !== "-") m |= (value << shift) & mask;
        }
        break;
      }
    }
  }
  return m & 0o7777;
}
