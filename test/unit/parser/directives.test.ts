import { describe, it, expect } from "@jest/globals";
import { parseDockerfile } from "../../../src/parser/index.js";

const parse = (text: string) => parseDockerfile(text, { filename: "Dockerfile" });

describe("parser directives", () => {
  it("reads syntax, escape and check case-insensitively with spaces around =", () => {
    const ast = parse("# SYNTAX = docker/dockerfile:1\n#check=skip=JSONArgsRecommended\n#  escape  =  `  \nFROM a\n");
    expect(ast.directives.map((d) => [d.name, d.value, d.range.start.line])).toEqual([
      ["syntax", "docker/dockerfile:1", 1], ["check", "skip=JSONArgsRecommended", 2], ["escape", "`", 3],
    ]);
    expect(ast.escape).toBe("`");
  });
  it.each([
    ["a blank line", "# syntax=x\n\n# escape=`\nFROM a\n"],
    ["a comment", "# hello\n# escape=`\nFROM a\n"],
    ["an unknown directive", "# foo=bar\n# escape=`\nFROM a\n"],
    ["an instruction", "FROM a\n# escape=`\n"],
  ])("stop at %s", (_what, text) => {
    const ast = parse(text);
    expect(ast.escape).toBe("\\");
    expect(ast.directives.some((d) => d.name === "escape")).toBe(false);
  });
  it("rejects a repeated directive and an invalid escape", () => {
    expect(() => parse("# syntax=a\n# Syntax=b\nFROM a\n")).toThrow(expect.objectContaining({ code: "TSB_PARSE_DIRECTIVE_REPEATED" }));
    expect(() => parse("# escape=/\nFROM a\n")).toThrow(expect.objectContaining({ code: "TSB_PARSE_ESCAPE_INVALID" }));
  });
  it("does not keep directives as comments", () => {
    expect(parse("# syntax=x\n# about\nFROM a\n").nodes[0]!.comments).toEqual(["about"]);
  });
});
