// The line scanner must read every line exactly as the chevrotain lexer + grammar do (tokens.ts, grammar.ts).
import { describe, it, expect } from "@jest/globals";
import type { CstNode, IToken } from "chevrotain";
import fc from "fast-check";
import { parseInstructionTokens, parseJsonTokens } from "../../../src/parser/grammar.js";
import { scanInstructionLine, scanJsonArray, type ScannedLine } from "../../../src/parser/scan-line.js";
import { lexInstruction, lexJson } from "../../../src/parser/tokens.js";

/** What the chevrotain grammar makes of a line, in the scanner's shape. */
function viaGrammar(text: string, escape: "\\" | "`"): ScannedLine | undefined {
  const lexed = lexInstruction(text, escape);
  if (lexed.errors > 0) return undefined;
  const cst = parseInstructionTokens(lexed.tokens);
  const kw = cst?.children["Keyword"]?.[0] as IToken | undefined;
  if (cst === undefined || kw === undefined) return undefined;
  const flags: string[] = [];
  for (const f of (cst.children["flag"] ?? []) as CstNode[]) {
    const tok = f.children["Flag"]?.[0] as IToken | undefined;
    if (tok !== undefined) flags.push(tok.payload as string);
  }
  const words = ((cst.children["argument"] ?? []) as CstNode[]).map((a) => {
    const t = a.children["Word"]![0] as IToken;
    return { image: t.image, startOffset: t.startOffset };
  });
  return { keyword: { image: kw.image, startOffset: kw.startOffset }, flags, words };
}

/** The former chevrotain-based exec-form reading. */
function jsonViaGrammar(text: string): ReturnType<typeof scanJsonArray> {
  const { tokens, errors } = lexJson(text);
  const cst = errors > 0 ? undefined : parseJsonTokens(tokens);
  if (cst === undefined) return undefined;
  for (const t of tokens) if (t.tokenType.name === "JsonNumber" && !Number.isFinite(Number(t.image))) return undefined;
  const out: string[] = [];
  for (const v of (cst.children["jsonValue"] ?? []) as CstNode[]) {
    const s = v.children["JsonString"]?.[0] as IToken | undefined;
    if (s === undefined) return { strings: false };
    out.push(JSON.parse(s.image) as string);
  }
  return { strings: true, args: out };
}

const linePieces = [
  "RUN", "COPY", "run", "--", "--mount=type=cache,target=/x", "--a", "--b=", "=", " ", "  ", "\t", "\u000b", "\f", "\r", "\n",
  "\u00a0", "\u0085", "\u2028", "\u3000", "\\", "`", '"', "'", "x", "y z", "$A", "${B:-c}", "[", "]", "é", "🐳", "\u0000", "#",
];
const jsonPieces = [
  "[", "]", "{", "}", ",", ":", '"', '"a"', '"\\u00e9"', '"\\n"', "\\", " ", "\n", "\t", "1", "-0", "1.5e3", "1e999", "-1e999",
  "01", "true", "false", "null", "nul", "x", '"\u0001"', "\u00a0", "[]", '["a","b"]',
];

describe("scanInstructionLine", () => {
  it("matches the chevrotain grammar on random lines (both escape characters)", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...linePieces), { maxLength: 24 }), fc.constantFrom<"\\" | "`">("\\", "`"), (parts, escape) => {
        const text = parts.join("");
        expect(scanInstructionLine(text, escape)).toEqual(viaGrammar(text, escape));
      }),
      { numRuns: 4000 },
    );
  });

  it("matches the chevrotain grammar on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (text) => {
        expect(scanInstructionLine(text, "\\")).toEqual(viaGrammar(text, "\\"));
      }),
      { numRuns: 2000 },
    );
  });

  it("reads keyword, flags and words", () => {
    expect(scanInstructionLine('COPY --a="x y" --b -- --c d', "\\")).toEqual({
      keyword: { image: "COPY", startOffset: 0 },
      flags: ["--a=x y", "--b"],
      words: [{ image: "--c", startOffset: 22 }, { image: "d", startOffset: 26 }],
    });
    expect(scanInstructionLine(" RUN x", "\\")).toBeUndefined();
  });
});

describe("scanJsonArray", () => {
  it("matches the chevrotain JSON grammar on random texts", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...jsonPieces), { maxLength: 16 }), (parts) => {
        const text = `[${parts.join("")}`;
        expect(scanJsonArray(text)).toEqual(jsonViaGrammar(text));
      }),
      { numRuns: 4000 },
    );
  });

  it("treats numbers beyond float64 as not JSON, and non-strings as an error", () => {
    expect(scanJsonArray('["a", 1e999]')).toBeUndefined();
    expect(scanJsonArray('["a", [[-1e400]]]')).toBeUndefined();
    expect(scanJsonArray('["a", 1]')).toEqual({ strings: false });
    expect(scanJsonArray('["a", "b"] x')).toBeUndefined();
    expect(scanJsonArray(' [ "a" ,"\\u00e9" ] ')).toEqual({ strings: true, args: ["a", "é"] });
  });
});
