/**
 * Chevrotain token vocabulary. Two lexers share one vocabulary (so one parser serves both):
 * - the instruction lexer (one per escape character): keyword, `--flags` (only right after the keyword or another
 *   flag), shell-like words (quotes kept, BuildKit parseWords rules) and spaces (Go's unicode.IsSpace);
 * - the JSON lexer, for the exec form `["a", "b"]` (any other character becomes JsonInvalid, so it never fails).
 * Lexers are built lazily, once. The parser's hot path (scan-line.ts) follows this vocabulary without chevrotain;
 * these lexers are the reference it is tested against.
 */
import { ensurePolyfills } from "../util/polyfills.js";
import { Lexer, createToken, tokenMatcher, type IToken, type TokenType, type CustomPatternMatcherReturn } from "chevrotain";
import { GO_SPACE } from "./directives.js";
import { isReWhitespace, scanFlag, wordPatternSource } from "./scan-line.js";

export { scanFlag };

function matchKeyword(text: string, offset: number, tokens: IToken[]): CustomPatternMatcherReturn | null {
  if (tokens.length !== 0) return null;
  let end = offset;
  while (end < text.length && !isReWhitespace(text.charCodeAt(end))) end++;
  return end === offset ? null : [text.slice(offset, end)];
}

function flagMatcher(escape: string, terminator: boolean) {
  return (text: string, offset: number, tokens: IToken[]): CustomPatternMatcherReturn | null => {
    if (text.charCodeAt(offset) !== 0x2d || text.charCodeAt(offset + 1) !== 0x2d) return null;
    // Flags only follow the keyword or other flags (a Space token sits in between).
    const last = tokens[tokens.length - 1];
    const prev = tokens[tokens.length - 2];
    if (last?.tokenType !== Space || prev === undefined) return null;
    if (prev.tokenType !== Keyword && !tokenMatcher(prev, Flag)) return null;
    const { end, value } = scanFlag(text, offset, escape);
    if ((value === "--") !== terminator) return null;
    const out: CustomPatternMatcherReturn = [text.slice(offset, end)];
    out.payload = value;
    return out;
  };
}

/** Runs of Go whitespace. */
export const Space = createToken({ name: "Space", pattern: new RegExp(`[${GO_SPACE}]+`) });
/** The instruction keyword: the first run of non-`[\t\v\f\r ]` characters. */
export const Keyword = createToken({ name: "Keyword", pattern: { exec: matchKeyword }, line_breaks: false });

function flagTokens(escape: "\\" | "`"): readonly [TokenType, TokenType] {
  const suffix = escape === "\\" ? "" : "Backtick";
  return [
    createToken({ name: `FlagEnd${suffix}`, categories: [FlagEnd], pattern: { exec: flagMatcher(escape, true) }, line_breaks: false, start_chars_hint: ["-"] }),
    createToken({ name: `Flag${suffix}`, categories: [Flag], pattern: { exec: flagMatcher(escape, false) }, line_breaks: false, start_chars_hint: ["-"] }),
  ];
}

/** Category of `--name[=value]` builder flags (payload: the unquoted value). */
export const Flag = createToken({ name: "Flag", pattern: Lexer.NA });
/** Category of the `--` word that ends the flags. */
export const FlagEnd = createToken({ name: "FlagEnd", pattern: Lexer.NA });

function wordToken(escape: "\\" | "`"): TokenType {
  // BuildKit parseWords: an escape takes the next character; inside "…" too; inside '…' nothing is special.
  return createToken({ name: escape === "\\" ? "Word" : "WordBacktick", categories: [Word], pattern: new RegExp(wordPatternSource(escape)), line_breaks: false });
}

/** Category of shell-like words (quotes and escapes kept verbatim). */
export const Word = createToken({ name: "Word", pattern: Lexer.NA });

export const LBracket = createToken({ name: "LBracket", pattern: /\[/ });
export const RBracket = createToken({ name: "RBracket", pattern: /]/ });
export const LCurly = createToken({ name: "LCurly", pattern: /{/ });
export const RCurly = createToken({ name: "RCurly", pattern: /}/ });
export const Comma = createToken({ name: "Comma", pattern: /,/ });
export const Colon = createToken({ name: "Colon", pattern: /:/ });
export const JsonString = createToken({ name: "JsonString", pattern: /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/ });
export const JsonNumber = createToken({ name: "JsonNumber", pattern: /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/ });
export const JsonLiteral = createToken({ name: "JsonLiteral", pattern: /true|false|null/ });
export const JsonWs = createToken({ name: "JsonWs", pattern: /[ \t\n\r]+/, group: Lexer.SKIPPED });
/** Anything else inside a would-be JSON array: makes the JSON rule fail, so the shell form is used. */
export const JsonInvalid = createToken({ name: "JsonInvalid", pattern: /[^]/ });

const JSON_TOKENS: readonly TokenType[] = [
  JsonWs, LBracket, RBracket, LCurly, RCurly, Comma, Colon, JsonString, JsonNumber, JsonLiteral, JsonInvalid,
];

let built: { readonly backslash: TokenType[]; readonly backtick: TokenType[] } | undefined;

function instructionTokens(): { readonly backslash: TokenType[]; readonly backtick: TokenType[] } {
  built ??= {
    backslash: [Keyword, Space, ...flagTokens("\\"), wordToken("\\")],
    backtick: [Keyword, Space, ...flagTokens("`"), wordToken("`")],
  };
  return built;
}

/** Every token type the parser may see. */
export function allTokens(): TokenType[] {
  const t = instructionTokens();
  return [Keyword, Space, Flag, FlagEnd, Word, ...t.backslash.slice(2), ...t.backtick.slice(2), ...JSON_TOKENS];
}

const lexers = new Map<string, Lexer>();

function lexer(kind: "\\" | "`" | "json"): Lexer {
  let l = lexers.get(kind);
  if (l === undefined) {
    ensurePolyfills();
    const defs = kind === "json" ? [...JSON_TOKENS] : kind === "\\" ? instructionTokens().backslash : instructionTokens().backtick;
    l = new Lexer(defs, { positionTracking: "onlyOffset", ensureOptimizations: false, skipValidations: true });
    lexers.set(kind, l);
  }
  return l;
}

/** Result of lexing: tokens, and how many characters no token matched (always 0 for these vocabularies). */
export interface LexResult {
  readonly tokens: IToken[];
  readonly errors: number;
}

/** Tokens of one logical instruction line. Every character belongs to some token. */
export function lexInstruction(text: string, escape: "\\" | "`"): LexResult {
  const r = lexer(escape).tokenize(text);
  return { tokens: r.tokens, errors: r.errors.length };
}

/** Tokens of a would-be JSON array (whitespace skipped; stray characters become JsonInvalid). */
export function lexJson(text: string): LexResult {
  const r = lexer("json").tokenize(text);
  return { tokens: r.tokens, errors: r.errors.length };
}
