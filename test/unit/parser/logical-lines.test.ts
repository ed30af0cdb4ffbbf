import { describe, it, expect } from "@jest/globals";
import { parseDockerfile } from "../../../src/parser/index.js";
import { LineReader } from "../../../src/parser/logical-lines.js";
import { splitPhysicalLines } from "../../../src/parser/source.js";

const parse = (text: string) => parseDockerfile(text, { filename: "Dockerfile" });

describe("logical lines", () => {
  it("warns about empty continuation lines but not about comments inside continuations", () => {
    const text = [
      "", "FROM alpine:3.6", "", "RUN valid \\", "    continuation", "", "RUN something \\", "", "    following \\", "",
      "    more", "", "RUN another \\", "", "    thing", "", "RUN non-indented \\", "# this is a comment", "   after-comment",
      "", "RUN indented \\", "    # this is an indented comment", "    comment", "\t",
    ].join("\n");
    const ast = parse(text);
    expect(ast.warnings.map((w) => [w.rule, w.range.start.line])).toEqual([["NoEmptyContinuation", 8], ["NoEmptyContinuation", 14]]);
    expect(ast.warnings[0]!.message).toContain("RUN something     following     more");
    expect(ast.nodes.map((n) => n.args[0])).toEqual(["alpine:3.6", "valid     continuation", "something     following     more",
      "another     thing", "non-indented    after-comment", "indented     comment"]);
  });

  it("maps logical offsets back to physical positions", () => {
    const reader = new LineReader(splitPhysicalLines("  RUN a \\\n  b \\\n\n  c\n"));
    const l = reader.nextInstruction()!;
    expect(l.text).toBe("RUN a   b   c");
    expect(l.map.position(0)).toEqual({ line: 1, column: 3 });
    expect(l.map.position(l.text.indexOf("b"))).toEqual({ line: 2, column: 3 });
    expect(l.map.position(l.text.indexOf("c"))).toEqual({ line: 4, column: 3 });
    expect([l.startLine, l.endLine, l.emptyContinuationLine]).toEqual([1, 4, 3]);
  });

  it("uses the escape directive for continuations", () => {
    const ast = parse("# escape=`\nFROM a\nRUN dir c:\\ `\n  x\n");
    expect(ast.escape).toBe("`");
    expect(ast.nodes[1]!.args).toEqual(["dir c:\\   x"]);
    expect(ast.nodes[1]!.range.end).toEqual({ line: 4, column: 3 });
  });

  it("keeps an escaped escape at the end of a line", () => {
    expect(parse("FROM a\nENV C trailing\\\\\nENV D x\n").nodes.map((n) => n.args)).toEqual([["a"], ["C", "trailing\\\\"], ["D", "x"]]);
  });

  it("reports lines longer than 65535 bytes", () => {
    expect(() => parse(`FROM a\nLABEL x=${"é".repeat(40000)}\n`)).toThrow(expect.objectContaining({ code: "TSB_PARSE_LINE_TOO_LONG" }));
  });
});
