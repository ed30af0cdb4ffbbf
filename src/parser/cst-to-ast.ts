/**
 * Turns one logical instruction line into an {@link InstructionNode} core, applying BuildKit's per-keyword
 * argument rules (line_parsers.go): exec form (JSON array of strings, invalid JSON falls back to the shell form),
 * shell form, whitespace-split lists, `k=v …` and legacy `k v` for ENV/LABEL, HEALTHCHECK's type word, and
 * ONBUILD's nested instruction. The line is read by scan-line.ts, which follows the chevrotain grammar
 * (grammar.ts, tokens.ts) without building tokens or a CST.
 */
import type { Position } from "../errors.js";
import { isGoSpace, trimSpace } from "./directives.js";
import { scanInstructionLine, scanJsonArray, type ScannedWord } from "./scan-line.js";
import type { OffsetMap } from "./source.js";

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
}

/** What one logical line says, before heredocs and final line numbers are known. */
export interface NodeCore {
  readonly keyword: string;
  readonly keywordRaw: string;
  readonly original: string;
  readonly flags: readonly string[];
  readonly args: readonly string[];
  readonly json: boolean;
  readonly legacyKeyValue: boolean;
  readonly nested: NodeCore | undefined;
  /** Position of the keyword's first character (undefined for a blank logical line). */
  readonly start: Position | undefined;
}

/** The node for `text`, which starts at `base` in the logical line (text is left-trimmed). */
export function buildNode(text: string, base: number, ctx: LineContext): NodeCore {
  const line = isBlank(text) ? undefined : scanInstructionLine(text, ctx.escape);
  if (line === undefined) {
    // Only a blank logical line (e.g. a lone continuation at EOF) gets here: BuildKit keeps it as an empty keyword.
    return core("", "", text, [], [], false, false, undefined, undefined);
  }
  const keywordToken = line.keyword;
  const start = ctx.map.position(base + keywordToken.startOffset);
  const flags = line.flags;
  const words = line.words;
  const restStart = words[0]?.startOffset ?? text.length;
  const rest = trimSpace(text.slice(restStart));
  const keywordRaw = keywordToken.image;
  const keyword = keywordRaw.toLowerCase();
  const make = (args: readonly string[], json: boolean, legacy = false, nested?: NodeCore): NodeCore =>
    core(keyword, keywordRaw, text, flags, args, json, legacy, nested, start);
  switch (ARG_STYLES.get(keyword)) {
    case undefined:
      return make([], false);
    case "maybeJson": {
      const r = rest === "" ? NO_ARGS : parseMaybeJson(rest);
      return make(r.args, r.json);
    }
    case "maybeJsonList": {
      const r = parseJson(rest);
      return r === undefined ? make(splitWhitespace(rest), false) : make(r.args, true);
    }
    case "words":
      return make(splitWhitespace(rest), false);
    case "string":
      return make(rest === "" ? [] : [rest], false);
    case "env":
    case "label": {
      const kv = parseNameVal(rest, wordValues(words, ctx.escape), keyword === "env" ? "ENV" : "LABEL");
      return make(kv.args, false, kv.legacy);
    }
    case "nameOrNameVal":
      return make(wordValues(words, ctx.escape), false);
    case "health": {
      const r = parseHealth(rest);
      return make(r.args, r.json);
    }
    case "sub":
      return rest === "" ? make([], false) : make([], false, false, buildNode(rest, base + restStart, ctx));
  }
}

function core(
  keyword: string, keywordRaw: string, original: string, flags: readonly string[], args: readonly string[],
  json: boolean, legacyKeyValue: boolean, nested: NodeCore | undefined, start: Position | undefined,
): NodeCore {
  return { keyword, keywordRaw, original, flags, args, json, legacyKeyValue, nested, start };
}

const NO_ARGS: Args = { args: [], json: false };

interface Args {
  readonly args: readonly string[];
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
  // Go's decoder rejects numbers outside float64 with a type error, which BuildKit treats as "not JSON".
  const r = scanJsonArray(rest);
  if (r === undefined) return undefined;
  if (!r.strings) throw new ArgumentError("json", "when using JSON array syntax, arrays must be comprised of strings only");
  return { args: r.args, json: true };
}

/** parseMaybeJSON: exec form, else the whole rest as one shell-form string. */
function parseMaybeJson(rest: string): Args {
  return parseJson(rest) ?? { args: [rest], json: false };
}

function parseHealth(rest: string): Args {
  let sep = 0;
  while (sep < rest.length && !isGoSpace(rest.charCodeAt(sep))) sep++;
  if (sep === 0) return NO_ARGS;
  let next = sep;
  while (next < rest.length && isGoSpace(rest.charCodeAt(next))) next++;
  const cmdText = rest.slice(next);
  const cmd = cmdText === "" ? NO_ARGS : parseMaybeJson(cmdText);
  return { args: [rest.slice(0, sep), ...cmd.args], json: cmd.json };
}

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
function wordValues(words: readonly ScannedWord[], escape: string): string[] {
  const out = words.map((w) => w.image);
  const last = out.length - 1;
  if (last >= 0 && out[last]!.endsWith(escape) && endsWithLoneEscape(out[last]!, escape)) out[last] = out[last]!.slice(0, -1);
  return out;
}

/** strings.TrimSpace(s) === "" without building the trimmed string. */
function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isGoSpace(s.charCodeAt(i))) return false;
  return true;
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
