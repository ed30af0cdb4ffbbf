import { describe, it, expect } from "@jest/globals";
import { goQuote } from "../../../src/parser/dump.js";
import { dumpAst, parseDockerfile } from "../../../src/parser/index.js";

describe("dump", () => {
  it.each([
    ["plain", '"plain"'],
    ['q"b\\', '"q\\"b\\\\"'],
    ["\t\n\r\v\f\x07\b", '"\\t\\n\\r\\v\\f\\a\\b"'],
    ["\x01\x7f", '"\\x01\\x7f"'],
    ["é✓🐳", '"é✓🐳"'],
    ["\u00a0\u200b", '"\\u00a0\\u200b"'],
    ["\u{e0001}", '"\\U000e0001"'],
  ])("goQuote(%j)", (input, want) => expect(goQuote(input)).toBe(want));

  it("prints BuildKit s-expressions", () => {
    const ast = parseDockerfile('FROM a\nCOPY --x=1 a b\nENV k v\nLABEL a=b\nONBUILD RUN x\nFOO bar\n', { filename: "D" });
    expect(dumpAst(ast)).toBe(
      '(from "a")\n(copy ["--x=1"] "a" "b")\n(env "k" "v" "")\n(label "a" "b" "=")\n(onbuild (run "x"))\n(foo "")',
    );
  });
});
