import { describe, it, expect } from "@jest/globals";
import { validateGrammar } from "../../../src/parser/grammar.js";
import { lexInstruction, lexJson } from "../../../src/parser/tokens.js";

describe("grammar and tokens", () => {
  it("passes chevrotain's grammar validations", () => {
    expect(() => validateGrammar()).not.toThrow();
  });
  it("lexes flags only after the keyword", () => {
    const { tokens, errors } = lexInstruction('COPY --a="x y" --b -- --c d', "\\");
    expect(errors).toBe(0);
    expect(tokens.map((t) => `${t.tokenType.name}:${t.image}`).filter((s) => !s.startsWith("Space"))).toEqual([
      "Keyword:COPY", 'Flag:--a="x y"', "Flag:--b", "FlagEnd:--", "Word:--c", "Word:d",
    ]);
    expect(tokens[2]!.payload).toBe("--a=x y");
  });
  it("covers every character", () => {
    for (const s of ["RUN \u0000\u00a0\u2028 `\\'\"", "X --'a", "[\u0001]", "ENV a=`\"b` c\""]) {
      expect(lexInstruction(s, "\\").errors).toBe(0);
      expect(lexInstruction(s, "`").errors).toBe(0);
      expect(lexJson(s).errors).toBe(0);
    }
  });
});
