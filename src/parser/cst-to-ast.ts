/**
 * Turns the CST of one logical instruction line into an {@link InstructionNode}, applying BuildKit's per-keyword
 * argument rules (line_parsers.go): exec form (JSON array of strings, invalid JSON falls back to the shell form),
 * shell form, whitespace-split lists, `k=v …` and legacy `k v` for ENV/LABEL, HEALTHCHECK's type word, and
 * ONBUILD's nested instruction.
 */
import type { CstNode, IToken } from "chevrotain";
import type { SourceRange } from "../errors.js";
import type { InstructionNode } from "./ast.js";
import { trimSpace } from "./directives.js";
import { parseInstructionTokens, parseJsonTokens } from "./grammar.js";
import type { OffsetMap } from "./source.js";
import { lexInstruction, lexJson } from "./tokens.js";

/** How BuildKit's dispatch table reads the arguments of each keyword. */
type ArgStyle = "maybeJson" | "maybeJsonList" | "words" | "string" | "env" | "label" | "nameOrNameVal" | "health" | "sub";

/** The instructions BuildKit's parser knows, with how their arguments are read. */
export const ARG_STYLES: ReadonlyMap<string, ArgStyle> = new Map<string, ArgStyle>([
  ["add", "maybeJsonList"], ["arg", "nameOrNameVal"], ["cmd", "maybeJson"], ["copy", "maybeJsonList"],
  ["entrypoint", "maybeJson"], ["env", "env"], ["expose", "words"], ["from", "words"], ["healthcheck", "health"],
  ["label", "label"], ["maintainer", "string"], ["onbuild", "sub"], ["run", "maybeJson"], ["shell", "maybeJson"],
  ["stopsignal", "string"], ["user", "string"], ["volume", "maybeJsonList"], ["workdir", "string"],
]);

/** A problem in the arguments; parse.ts adds the location (the instruction's lines). */
export class ArgumentError extends Error {
  constructor(
    readonly kind: "json" | "key-value",
    message: string,
  ) {
    super(message);
  }
}

/** Context for building nodes of one logical line. */
export interface LineContext {
  readonly map: OffsetMap;
  readonly escape: "\\" | "`";
  readonly comments: readonly string[];
  readonly startLine: number;
  readonly endLine: number;
}

/** The node for `text`, which starts at `base` in the logical line (text is left-trimmed, never empty). */
export function buildNode(text: string, base: number, ctx: LineContext, range: SourceRange): InstructionNode {
  const lexed = lexInstruction(text, ctx.escape);
  const cst = trimSpace(text) === "" || lexed.errors > 0 ? undefined : parseInstructionTokens(lexed.tokens);
  const keywordToken = cst === undefined ? undefined : (cst.children["Keyword"]?.[0] as IToken | undefined);
  const start = keywordToken === undefined ? { line: ctx.startLine, column: 1 } : ctx.map.position(base + keywordToken.startOffset);
  const common = { original: text, comments: ctx.comments, startLine: ctx.startLine, endLine: ctx.endLine, heredocs: [] };
  if (cst === undefined || keywordToken === undefined) {
    // Only a blank logical line (e.g. a lone continuation at EOF) gets here: BuildKit keeps it as an empty keyword.
    return { keyword: "", keywordRaw: "", flags: [], args: [], json: false, ...common, range: { start, end: range.end } };
  }
  const flags: string[] = [];
  for (const f of (cst.children["flag"] ?? []) as CstNode[]) {
    const tok = f.children["Flag"]?.[0] as IToken | undefined;
    if (tok !== undefined) flags.push(tok.payload as string);
  }
  const args = (cst.children["argument"] ?? []) as CstNode[];
  const words = args.map((a) => a.children["Word"]![0] as IToken);
  const restStart = words[0]?.startOffset ?? text.length;
  const rest = trimSpace(text.slice(restStart));
  const keywordRaw = keywordToken.image;
  const keyword = keywordRaw.toLowerCase();
  const node = { keyword, keywordRaw, flags, ...common, range: { start, end: range.end } };
  const style = ARG_STYLES.get(keyword);
  switch (style) {
    case undefined:
      return { ...node, args: [], json: false };
    case "maybeJson": {
      const r = rest === "" ? { args: [], json: false } : parseMaybeJson(rest);
      return { ...node, ...r };
    }
    case "maybeJsonList": {
      const r = parseJson(rest);
      return { ...node, ...(r ?? { args: splitWhitespace(rest), json: false }) };
    }
    case "words":
      return { ...node, args: splitWhitespace(rest), json: false };
    case "string":
      return { ...node, args: rest === "" ? [] : [rest], json: false };
    case "env":
    case "label": {
      const kv = parseNameVal(rest, wordValues(words, ctx.escape), style === "env" ? "ENV" : "LABEL");
      return { ...node, args: kv.args, json: false, ...(kv.legacy ? { legacyKeyValue: true } : {}) };
    }
    case "nameOrNameVal":
      return { ...node, args: wordValues(words, ctx.escape), json: false };
    case "health":
      return { ...node, ...parseHealth(rest) };
    case "sub": {
      if (rest === "") return { ...node, args: [], json: false };
      const nested = buildNode(rest, base + restStart, { ...ctx, comments: [] }, range);
      return { ...node, args: [], json: false, nested };
    }
  }
}

interface Args {
  readonly args: string[];
  readonly json: boolean;
}

const RE_WHITESPACE = /[\t\v\f\r ]+/;

/** parseStringsWhitespaceDelimited: split on `[\t\v\f\r ]+` (quotes mean nothing here). */
function splitWhitespace(rest: string): string[] {
  return rest === "" ? [] : rest.split(/[\t\v\f\r ]+/);
}

/** parseJSON: the elements when `rest` is one JSON array of strings; undefined when it is not JSON at all. */
function parseJson(rest: string): Args | undefined {
  if (!rest.startsWith("[")) return undefined;
  const { tokens, errors } = lexJson(rest);
  const cst = errors > 0 ? undefined : parseJsonTokens(tokens);
  if (cst === undefined) return undefined;
  // Go's decoder rejects numbers outside float64 with a type error, which BuildKit treats as "not JSON".
  for (const t of tokens) if (t.tokenType.name === "JsonNumber" && !Number.isFinite(Number(t.image))) return undefined;
  const out: string[] = [];
  for (const v of (cst.children["jsonValue"] ?? []) as CstNode[]) {
    const s = v.children["JsonString"]?.[0] as IToken | undefined;
    if (s === undefined) throw new ArgumentError("json", "when using JSON array syntax, arrays must be comprised of strings only");
    out.push(JSON.parse(s.image) as string);
  }
  return { args: out, json: true };
}

/** parseMaybeJSON: exec form, else the whole rest as one shell-form string. */
function parseMaybeJson(rest: string): Args {
  return parseJson(rest) ?? { args: [rest], json: false };
}

function parseHealth(rest: string): Args {
  let sep = 0;
  while (sep < rest.length && !RE_SPACE_CHAR.test(rest[sep]!)) sep++;
  if (sep === 0) return { args: [], json: false };
  let next = sep;
  while (next < rest.length && RE_SPACE_CHAR.test(rest[next]!)) next++;
  const cmdText = rest.slice(next);
  const cmd = cmdText === "" ? { args: [], json: false } : parseMaybeJson(cmdText);
  return { args: [rest.slice(0, sep), ...cmd.args], json: cmd.json };
}

const RE_SPACE_CHAR = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/;

/** parseNameVal for ENV and LABEL: `k=v …` pairs, or the legacy single `k v` (value = rest of the line). */
function parseNameVal(rest: string, words: readonly string[], key: string): { args: string[]; legacy: boolean } {
  if (words.length === 0) return { args: [], legacy: false };
  if (!words[0]!.includes("=")) {
    const m = RE_WHITESPACE.exec(rest);
    if (m === null) throw new ArgumentError("key-value", `${key} must have two arguments`);
    return { args: [rest.slice(0, m.index), rest.slice(m.index + m[0].length)], legacy: true };
  }
  const args: string[] = [];
  for (const word of words) {
    const eq = word.indexOf("=");
    if (eq < 0) {
      throw new ArgumentError("key-value", `Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`);
    }
    args.push(word.slice(0, eq), word.slice(eq + 1));
  }
  return { args, legacy: false };
}

/** parseWords values: the word text, except that an unpaired escape at the very end of the line is dropped. */
function wordValues(words: readonly IToken[], escape: string): string[] {
  const out = words.map((w) => w.image);
  const last = out.length - 1;
  if (last >= 0 && out[last]!.endsWith(escape) && endsWithLoneEscape(out[last]!, escape)) out[last] = out[last]!.slice(0, -1);
  return out;
}

function endsWithLoneEscape(word: string, escape: string): boolean {
  let quote = "";
  for (let i = 0; i < word.length; i++) {
    const c = word[i]!;
    if (quote === "" && (c === '"' || c === "'")) quote = c;
    else if (quote !== "" && c === quote) quote = "";
    else if (c === escape && quote !== "'") {
      if (i === word.length - 1) return true;
      i++;
    }
  }
  return false;
}
