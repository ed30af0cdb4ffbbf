/**
 * Shell-word expansion as BuildKit's frontend/dockerfile/shell/lex.go does it: `$v ${v}`, `${v:-w} ${v-w}
 * ${v:+w} ${v+w} ${v:?m} ${v?m}`, `${v#p} ${v##p} ${v%p} ${v%%p}`, `${v/p/r} ${v//p/r}` (patterns with `*`
 * and `?`), single/double quotes, the escape character (`\` or `` ` ``) and word splitting.
 *
 * One deliberate difference: BuildKit shares one word buffer between nested `${v:-...}` scans, so
 * `ProcessWords("a${x:-b}c")` loses the `a`; here each scan has its own buffer (`a`,`b`,`c` → `abc`).
 */
import { TsbuildError, type ErrorCode, type TsbuildErrorOptions } from "../errors.js";
import { shellPatternToRegExp, trimPrefix, trimSuffix, replaceGo } from "./expand-pattern.js";

/** Variables visible to an expansion: a Map or a plain record (own properties only). */
export type ExpandEnv = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

export interface ExpandOptions {
  /** The Dockerfile's escape character. @default "\\" */
  readonly escape?: "\\" | "`";
  /** Keep quote characters in the result (BuildKit `RawQuotes`). @default false */
  readonly rawQuotes?: boolean;
  /** Keep escape characters in the result (BuildKit `RawEscapes`). @default false */
  readonly rawEscapes?: boolean;
  /** Leave references to unset variables as written (BuildKit `SkipUnsetEnv`). @default false */
  readonly skipUnsetEnv?: boolean;
  /** Treat quotes as ordinary characters (BuildKit `SkipProcessQuotes`, used for heredoc bodies). @default false */
  readonly skipProcessQuotes?: boolean;
}

/** The result of one expansion, with the variables it looked up. */
export interface ExpandResult {
  /** The expanded word (quotes removed, escapes applied). */
  readonly result: string;
  /** The expanded text split into words (as for EXPOSE); quoted parts never split. */
  readonly words: readonly string[];
  /** Names referenced and found in `env`. */
  readonly matched: ReadonlySet<string>;
  /** Names referenced but not set in `env` (for the UndefinedVar lint). */
  readonly unmatched: ReadonlySet<string>;
}

/** Error codes of expansion failures. */
export type ExpandErrorCode = "TSB_EXPAND_SYNTAX" | "TSB_EXPAND_UNSET" | "TSB_EXPAND_BAD_PATTERN" | "TSB_EXPAND_UNSUPPORTED";

/** A word could not be expanded: bad `${}` syntax, unterminated quote, `${v:?msg}` on an unset variable... */
export class ExpandError extends TsbuildError {
  /** The word as written. */
  readonly word: string;
  constructor(code: ExpandErrorCode & ErrorCode, word: string, detail: string, options: TsbuildErrorOptions = {}) {
    super(code, `failed to process ${JSON.stringify(word)}: ${detail}`, options);
    this.name = "ExpandError";
    this.word = word;
  }
}

/** Internal failure, turned into an ExpandError naming the whole word at the top. */
class Fail {
  constructor(
    readonly code: ExpandErrorCode,
    readonly detail: string,
    readonly hint: string,
  ) {}
}

const EOF = "";
const HINT_SYNTAX = "check the quotes and ${...} braces; escape a literal $ as \\$";

const isSpace = (ch: string): boolean => /^\p{White_Space}$/u.test(ch);
const isDigit = (ch: string): boolean => /^\p{Nd}$/u.test(ch);
const isLetter = (ch: string): boolean => /^\p{L}$/u.test(ch);
const isSpecialParam = (ch: string): boolean => "@*#?-$!0".includes(ch) && ch !== "";

/** Word splitting state (BuildKit `wordsStruct`). */
class Words {
  #buf = "";
  #inWord = false;
  readonly #words: string[] = [];
  addChar(ch: string): void {
    if (isSpace(ch) && this.#inWord) {
      if (this.#buf.length !== 0) {
        this.#words.push(this.#buf);
        this.#buf = "";
        this.#inWord = false;
      }
    } else if (!isSpace(ch)) {
      this.addRawChar(ch);
    }
  }
  addRawChar(ch: string): void {
    this.#buf += ch;
    this.#inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.#buf += s;
    this.#inWord = true;
  }
  get(): string[] {
    if (this.#buf.length > 0) {
      this.#words.push(this.#buf);
      this.#buf = "";
      this.#inWord = false;
    }
    return this.#words;
  }
}

class ShellWord {
  readonly #chars: readonly string[];
  #pos = 0;
  readonly #env: ExpandEnv;
  readonly #escape: string;
  readonly #opts: ExpandOptions;
  #rawEscapes: boolean;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(word: string, env: ExpandEnv, opts: ExpandOptions) {
    const chars = Array.from(word);
    // Go's text/scanner ignores a byte-order mark at the very start.
    if (chars[0] === "\uFEFF") chars.shift();
    this.#chars = chars;
    this.#env = env;
    this.#escape = opts.escape ?? "\\";
    this.#opts = opts;
    this.#rawEscapes = opts.rawEscapes ?? false;
  }

  #peek(): string {
    return this.#chars[this.#pos] ?? EOF;
  }
  #next(): string {
    const ch = this.#chars[this.#pos] ?? EOF;
    if (ch !== EOF) this.#pos++;
    return ch;
  }

  #getEnv(name: string): string | undefined {
    const env = this.#env;
    let v: string | undefined;
    if (env instanceof Map) v = (env as ReadonlyMap<string, string>).get(name);
    else if (Object.hasOwn(env, name)) v = (env as Readonly<Record<string, string>>)[name];
    if (v !== undefined) this.matched.add(name);
    else this.unmatched.add(name);
    return v;
  }

  processStopOn(stop: string, rawEscapes: boolean): { result: string; words: string[] } {
    let result = "";
    const words = new Words();
    const saved = this.#rawEscapes;
    this.#rawEscapes = rawEscapes;
    try {
      while (this.#peek() !== EOF) {
        let ch = this.#peek();
        if (stop !== EOF && ch === stop) {
          this.#next();
          return { result, words: words.get() };
        }
        const quotes = !this.#opts.skipProcessQuotes;
        if (ch === "$") {
          const tmp = this.#processDollar();
          result += tmp;
          words.addString(tmp);
        } else if (ch === "<" || (quotes && (ch === "'" || ch === '"'))) {
          const tmp = ch === "<" ? this.#processPossibleHeredoc() : ch === "'" ? this.#processSingleQuote() : this.#processDoubleQuote();
          result += tmp;
          words.addRawString(tmp);
        } else {
          ch = this.#next();
          if (ch === this.#escape) {
            if (this.#rawEscapes) {
              words.addRawChar(ch);
              result += ch;
            }
            ch = this.#next();
            if (ch === EOF) break;
            words.addRawChar(ch);
          } else {
            words.addChar(ch);
          }
          result += ch;
        }
      }
    } finally {
      this.#rawEscapes = saved;
    }
    if (stop !== EOF) throw new Fail("TSB_EXPAND_SYNTAX", `unexpected end of statement while looking for matching ${stop}`, HINT_SYNTAX);
    return { result, words: words.get() };
  }

  #processSingleQuote(): string {
    const raw = this.#opts.rawQuotes ?? false;
    let result = "";
    let ch = this.#next();
    if (raw) result += ch;
    for (;;) {
      ch = this.#next();
      if (ch === EOF) throw new Fail("TSB_EXPAND_SYNTAX", "unexpected end of statement while looking for matching single-quote", "close the ' quote (a single-quoted string cannot contain ')");
      if (ch === "'") {
        if (raw) result += ch;
        return result;
      }
      result += ch;
    }
  }

  #processDoubleQuote(): string {
    const raw = this.#opts.rawQuotes ?? false;
    let result = "";
    const open = this.#next();
    if (raw) result += open;
    for (;;) {
      const peek = this.#peek();
      if (peek === EOF) throw new Fail("TSB_EXPAND_SYNTAX", "unexpected end of statement while looking for matching double-quote", 'close the " quote');
      if (peek === '"') {
        const ch = this.#next();
        if (raw) result += ch;
        return result;
      }
      if (peek === "$") {
        result += this.#processDollar();
        continue;
      }
      let ch = this.#next();
      if (ch === this.#escape) {
        if (this.#rawEscapes) result += ch;
        const after = this.#peek();
        if (after === EOF) continue; // a trailing escape is dropped; the loop then reports the open quote
        if (after === '"' || after === "$" || after === this.#escape) ch = this.#next();
      }
      result += ch;
    }
  }

  #processName(): string {
    let name = "";
    while (this.#peek() !== EOF) {
      const ch = this.#peek();
      if (name.length === 0 && isDigit(ch)) {
        while (this.#peek() !== EOF && isDigit(this.#peek())) name += this.#next();
        return name;
      }
      if (name.length === 0 && isSpecialParam(ch)) return this.#next();
      if (!isLetter(ch) && !isDigit(ch) && ch !== "_") break;
      name += this.#next();
    }
    return name;
  }

  #processPossibleHeredoc(): string {
    this.#next();
    if (this.#peek() !== "<") return "<";
    this.#next();
    let space = "";
    while (this.#peek() === "\t" || this.#peek() === "\r" || this.#peek() === " ") space += this.#next();
    return "<<" + space;
  }

  /** A nested `${...}` scan; an error at end of input becomes "missing <what>" as in BuildKit. */
  #scanTo(stop: string, rawEscapes: boolean, missing: string): string {
    try {
      return this.processStopOn(stop, rawEscapes).result;
    } catch (e) {
      if (e instanceof Fail && this.#peek() === EOF) throw new Fail("TSB_EXPAND_SYNTAX", `syntax error: missing ${missing}`, HINT_SYNTAX);
      throw e;
    }
  }

  #processDollar(): string {
    this.#next();
    if (this.#peek() !== "{") {
      const name = this.#processName();
      if (name === "") return "$";
      const value = this.#getEnv(name);
      if (value === undefined && this.#opts.skipUnsetEnv) return "$" + name;
      return value ?? "";
    }
    this.#next();
    const first = this.#peek();
    if (first === EOF) throw new Fail("TSB_EXPAND_SYNTAX", "syntax error: missing '}'", HINT_SYNTAX);
    if (first === "{" || first === "}" || first === ":") throw new Fail("TSB_EXPAND_SYNTAX", "syntax error: bad substitution", "write ${NAME} with a variable name inside the braces");
    const name = this.#processName();
    let ch = this.#next();
    let chs = ch === EOF ? "\uFFFD" : ch;
    const skipUnset = this.#opts.skipUnsetEnv ?? false;
    const unsupported = (): Fail =>
      new Fail("TSB_EXPAND_UNSUPPORTED", `unsupported modifier (${chs}) in substitution`, "supported: ${v:-w} ${v-w} ${v:+w} ${v+w} ${v:?m} ${v?m} ${v#p} ${v##p} ${v%p} ${v%%p} ${v/p/r} ${v//p/r}");

    // BuildKit reports "unsupported modifier" here; an unclosed brace is the real problem.
    if (ch === EOF) throw new Fail("TSB_EXPAND_SYNTAX", "syntax error: missing '}'", HINT_SYNTAX);
    if (ch === "}") {
      const value = this.#getEnv(name);
      if (value === undefined && skipUnset) return `\${${name}}`;
      return value ?? "";
    }
    if (ch === ":" || ch === "+" || ch === "-" || ch === "?" || ch === "#" || ch === "%") {
      let nullIsUnset = false;
      if (ch === ":") {
        nullIsUnset = true;
        ch = this.#next();
        chs += ch === EOF ? "\uFFFD" : ch;
      }
      const rawEscapes = ch === "#" || ch === "%";
      if (nullIsUnset && rawEscapes) throw unsupported();
      let word = this.#scanTo("}", rawEscapes, "'}'");
      const value = this.#getEnv(name);
      const set = value !== undefined;
      if (skipUnset && !set) return `\${${name}${chs}${word}}`;
      const empty = !set || (nullIsUnset && value === "");
      switch (ch) {
        case "-":
          return empty ? word : value!;
        case "+":
          return empty ? "" : word;
        case "?":
          if (!set) throw unset(name, word || "is not allowed to be unset");
          if (nullIsUnset && value === "") throw unset(name, word || "is not allowed to be empty");
          return value;
        case "%":
        case "#": {
          const greedy = word.startsWith(ch);
          if (greedy) word = word.slice(1);
          try {
            return ch === "%" ? trimSuffix(word, value ?? "", greedy) : trimPrefix(word, value ?? "", greedy);
          } catch (e) {
            throw badPattern(word, e);
          }
        }
        default:
          throw unsupported();
      }
    }
    if (ch === "/") {
      const all = this.#peek() === "/";
      if (all) this.#next();
      const pattern = this.#scanTo("/", true, "'/' in ${}");
      const replacement = this.#scanTo("}", true, "'}'");
      const found = this.#getEnv(name);
      if (found === undefined && skipUnset) return `\${${name}/${pattern}/${replacement}}`;
      let re: RegExp;
      try {
        re = shellPatternToRegExp(pattern, true, false);
      } catch (e) {
        throw badPattern(pattern, e);
      }
      return replaceGo(found ?? "", re, replacement, all);
    }
    throw unsupported();
  }
}

function unset(name: string, message: string): Fail {
  return new Fail("TSB_EXPAND_UNSET", `${name}: ${message}`, `set ${name} (with ARG, ENV or --build-arg) to a non-empty value`);
}

function badPattern(pattern: string, e: unknown): Fail {
  const detail = e instanceof Error ? e.message : String(e);
  return new Fail("TSB_EXPAND_BAD_PATTERN", `invalid pattern (${pattern}) in substitution: ${detail}`, "in patterns only *, ? and \\ may be escaped with \\");
}

/** Expand `word` and report the variables it referenced (BuildKit `ProcessWordWithMatches`). */
export function expandWordWithMatches(word: string, env: ExpandEnv, opts: ExpandOptions = {}): ExpandResult {
  const sw = new ShellWord(word, env, opts);
  try {
    const { result, words } = sw.processStopOn(EOF, opts.rawEscapes ?? false);
    return { result, words, matched: sw.matched, unmatched: sw.unmatched };
  } catch (e) {
    if (e instanceof Fail) throw new ExpandError(e.code, word, e.detail, { hint: e.hint });
    throw e;
  }
}

/**
 * Expand one word: variables substituted, quotes removed, escapes applied, spaces kept (BuildKit `ProcessWord`).
 * @throws ExpandError (`TSB_EXPAND_*`) on bad syntax or `${v:?msg}` with `v` unset.
 */
export function expandWord(word: string, env: ExpandEnv, opts: ExpandOptions = {}): string {
  return expandWordWithMatches(word, env, opts).result;
}

/**
 * Expand and split into words on unquoted whitespace, after substitution (BuildKit `ProcessWords`).
 * @throws ExpandError (`TSB_EXPAND_*`).
 */
export function expandWords(word: string, env: ExpandEnv, opts: ExpandOptions = {}): string[] {
  return [...expandWordWithMatches(word, env, opts).words];
}
