/**
 * Here-document detection in an instruction line, following BuildKit's heredocsFromLine/ParseHeredoc: the line is
 * split into shell words (quotes and escapes kept, variables never expanded), each word matching
 * `[n]<<[-]WORD` names a heredoc; WORD is then unquoted, and any quoting disables expansion of the body. This is a
 * deliberately small shell-word reader (no environment): full word expansion lives in expand.ts.
 */
import { isGoSpace } from "./directives.js";

/** A heredoc header found on an instruction line (its body is read afterwards). */
export interface HeredocHeader {
  readonly name: string;
  readonly fileDescriptor: number;
  readonly expand: boolean;
  readonly chomp: boolean;
}

/** A word that looks like a heredoc but whose quotes do not close (BuildKit fails the parse for these). */
export class HeredocSyntaxError extends Error {}

const HEREDOC_RE = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/;

/** All heredoc headers on a logical line, in order. */
export function heredocsFromLine(line: string): HeredocHeader[] {
  let words: string[];
  try {
    words = new WordReader(line, true, true).words();
  } catch {
    return []; // BuildKit ignores lexing errors of the whole line here.
  }
  const docs: HeredocHeader[] = [];
  for (const word of words) {
    const doc = parseHeredoc(word);
    if (doc !== undefined) docs.push(doc);
  }
  return docs;
}

/** ParseHeredoc: a single `[n]<<[-]WORD` word, or undefined when `src` is not a heredoc. */
export function parseHeredoc(src: string): HeredocHeader | undefined {
  const match = HEREDOC_RE.exec(src);
  if (match === null) return undefined;
  const rest = match[3] ?? "";
  if (rest.length === 0) return undefined;
  let words: string[];
  let rawWords: string[];
  try {
    words = new WordReader(rest, false, false).words();
    if (words.length !== 1) return undefined;
    rawWords = new WordReader(rest, true, false).words();
  } catch (err) {
    throw new HeredocSyntaxError((err as Error).message);
  }
  const word = words[0]!;
  const raw = rawWords[0] ?? "";
  const fd = Number.parseInt(match[1] || "0", 10);
  return {
    name: word,
    fileDescriptor: Number.isSafeInteger(fd) ? fd : 0,
    expand: countQuotes(word) === countQuotes(raw),
    chomp: match[2] === "-",
  };
}

function countQuotes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x27) n++;
  }
  return n;
}

/** BuildKit's ChompHeredocContent: strip leading tabs from every line. */
export function chompHeredocContent(src: string): string {
  return src.replace(/(^|\n)\t+/g, "$1");
}

/**
 * Port of the parts of BuildKit's shell.Lex that heredoc detection uses (escape `\`, empty environment, unset
 * variables kept verbatim). Like BuildKit, nested `${…}` processing shares the word buffer with the outer word.
 */
class WordReader {
  readonly #src: string;
  readonly #rawQuotes: boolean;
  #rawEscapes: boolean;
  #pos = 0;
  /** Shared word buffer (see class comment). */
  #buf = "";

  constructor(src: string, rawQuotes: boolean, rawEscapes: boolean) {
    this.#src = src;
    this.#rawQuotes = rawQuotes;
    this.#rawEscapes = rawEscapes;
  }

  words(): string[] {
    return this.#processStopOn(undefined, this.#rawEscapes).words;
  }

  #peek(): string | undefined {
    if (this.#pos >= this.#src.length) return undefined;
    const cp = this.#src.codePointAt(this.#pos)!;
    return String.fromCodePoint(cp);
  }

  #nextChar(): string | undefined {
    const ch = this.#peek();
    if (ch !== undefined) this.#pos += ch.length;
    return ch;
  }

  #processStopOn(stop: string | undefined, rawEscapes: boolean): { result: string; words: string[] } {
    let result = "";
    this.#buf = "";
    const words: string[] = [];
    let inWord = false;
    const addRaw = (s: string): void => {
      this.#buf += s;
      inWord = true;
    };
    const addChar = (ch: string): void => {
      if (isGoSpace(ch.charCodeAt(0))) {
        if (inWord && this.#buf.length !== 0) {
          words.push(this.#buf);
          this.#buf = "";
          inWord = false;
        }
      } else addRaw(ch);
    };
    const saved = this.#rawEscapes;
    this.#rawEscapes = rawEscapes;
    try {
      for (let ch = this.#peek(); ch !== undefined; ch = this.#peek()) {
        if (stop !== undefined && ch === stop) {
          this.#nextChar();
          if (this.#buf.length > 0) words.push(this.#buf);
          this.#buf = "";
          return { result, words };
        }
        if (ch === "$" || ch === "<" || ch === "'" || ch === '"') {
          const tmp = ch === "$" ? this.#dollar() : ch === "<" ? this.#heredocMark() : ch === "'" ? this.#single() : this.#double();
          result += tmp;
          if (ch === "$") for (const c of tmp) addChar(c);
          else addRaw(tmp);
          continue;
        }
        let c = this.#nextChar()!;
        if (c === "\\") {
          if (this.#rawEscapes) {
            addRaw(c);
            result += c;
          }
          const escaped = this.#nextChar();
          if (escaped === undefined) break;
          c = escaped;
          addRaw(c);
        } else addChar(c);
        result += c;
      }
    } finally {
      this.#rawEscapes = saved;
    }
    if (stop !== undefined) throw new Error(`unexpected end of statement while looking for matching ${stop}`);
    if (this.#buf.length > 0) words.push(this.#buf);
    this.#buf = "";
    return { result, words };
  }

  #single(): string {
    let out = "";
    const open = this.#nextChar()!;
    if (this.#rawQuotes) out += open;
    for (;;) {
      const ch = this.#nextChar();
      if (ch === undefined) throw new Error("unexpected end of statement while looking for matching single-quote");
      if (ch === "'") {
        if (this.#rawQuotes) out += ch;
        return out;
      }
      out += ch;
    }
  }

  #double(): string {
    let out = "";
    const open = this.#nextChar()!;
    if (this.#rawQuotes) out += open;
    for (;;) {
      const peek = this.#peek();
      if (peek === undefined) throw new Error("unexpected end of statement while looking for matching double-quote");
      if (peek === '"') {
        this.#nextChar();
        if (this.#rawQuotes) out += peek;
        return out;
      }
      if (peek === "$") {
        out += this.#dollar();
        continue;
      }
      let ch = this.#nextChar()!;
      if (ch === "\\") {
        if (this.#rawEscapes) out += ch;
        const after = this.#peek();
        if (after === undefined) continue;
        if (after === '"' || after === "$" || after === "\\") ch = this.#nextChar()!;
      }
      out += ch;
    }
  }

  #heredocMark(): string {
    this.#nextChar();
    if (this.#peek() !== "<") return "<";
    this.#nextChar();
    let space = "";
    for (let ch = this.#peek(); ch === "\t" || ch === "\r" || ch === " "; ch = this.#peek()) {
      space += ch;
      this.#nextChar();
    }
    return `<<${space}`;
  }

  #name(): string {
    let name = "";
    for (let ch = this.#peek(); ch !== undefined; ch = this.#peek()) {
      if (name.length === 0 && /^\p{Nd}$/u.test(ch)) {
        while (ch !== undefined && /^\p{Nd}$/u.test(ch)) {
          name += this.#nextChar();
          ch = this.#peek();
        }
        return name;
      }
      if (name.length === 0 && "@*#?-$!0".includes(ch)) return this.#nextChar()!;
      if (!/^[\p{L}\p{Nd}_]$/u.test(ch)) break;
      name += this.#nextChar();
    }
    return name;
  }

  /** `$name` / `${…}` with an empty environment: always the text itself (SkipUnsetEnv), or a syntax error. */
  #dollar(): string {
    this.#nextChar();
    if (this.#peek() !== "{") {
      const name = this.#name();
      return name === "" ? "$" : `$${name}`;
    }
    this.#nextChar();
    const first = this.#peek();
    if (first === undefined) throw new Error("syntax error: missing '}'");
    if (first === "{" || first === "}" || first === ":") throw new Error("syntax error: bad substitution");
    const name = this.#name();
    const ch = this.#nextChar();
    switch (ch) {
      case "}":
        return `\${${name}}`;
      case ":":
      case "+":
      case "-":
      case "?":
      case "#":
      case "%": {
        let op = ch;
        let mod: string | undefined = ch;
        if (ch === ":") {
          mod = this.#nextChar();
          op += mod ?? "";
        }
        if (mod === "#" || mod === "%") {
          if (ch === ":") throw new Error(`unsupported modifier (${op}) in substitution`);
        }
        const word = this.#stopOrMissing("}", mod === "#" || mod === "%", "syntax error: missing '}'");
        return `\${${name}${op}${word}}`;
      }
      case "/": {
        if (this.#peek() === "/") this.#nextChar();
        const pattern = this.#stopOrMissing("/", true, "syntax error: missing '/' in ${}");
        const replacement = this.#stopOrMissing("}", true, "syntax error: missing '}'");
        return `\${${name}/${pattern}/${replacement}}`;
      }
      default:
        throw new Error(`unsupported modifier (${ch ?? ""}) in substitution`);
    }
  }

  #stopOrMissing(stop: string, rawEscapes: boolean, missing: string): string {
    try {
      return this.#processStopOn(stop, rawEscapes).result;
    } catch (err) {
      if (this.#peek() === undefined) throw new Error(missing);
      throw err;
    }
  }
}
