import { describe, it, expect } from "@jest/globals";
import { parseDockerfile } from "../../../src/parser/index.js";
import { chompHeredocContent, heredocsFromLine, parseHeredoc } from "../../../src/parser/heredoc.js";

const parse = (text: string) => parseDockerfile(text, { filename: "Dockerfile" });

describe("heredoc headers", () => {
  it.each(["<<EOF", "<<'EOF'", '<<"EOF"', "<<-EOF", "<<-'EOF'", '<<-"EOF"', '<<EO"F"', "<< EOF", "<<- EOF"])(
    "%s names EOF",
    (src) => expect(parseHeredoc(src)?.name).toBe("EOF"),
  );
  it.each(["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"])("%j is not a heredoc", (src) => {
    expect(parseHeredoc(src)).toBeUndefined();
  });
  it.each(["<<'EOF", '<<"EOF', "<<EOF'", '<<EOF"'])("%s has unbalanced quotes", (src) => {
    expect(() => parseHeredoc(src)).toThrow(/unexpected end of statement/);
  });
  it("reads fd, chomp and expand", () => {
    expect(parseHeredoc("3<<-'X'")).toEqual({ name: "X", fileDescriptor: 3, chomp: true, expand: false });
    expect(parseHeredoc("<<$EOF")).toEqual({ name: "$EOF", fileDescriptor: 0, chomp: false, expand: true });
  });
  it.each([
    ["RUN <<EOF", ["EOF"]],
    ["RUN <<- EOF", []], // "<<-" and "EOF" are separate words
    ["RUN << -EOF", ["-EOF"]],
    ["RUN 4<<EOF", ["EOF"]],
    ["RUN <<EOF <<EOF2", ["EOF", "EOF2"]],
    ["RUN '<<EOF'", []],
    ['RUN "<<EOF"', []],
    ["RUN <<EOF 'unterminated", []],
  ])("heredocsFromLine(%j)", (line, names) => {
    expect(heredocsFromLine(line).map((h) => h.name)).toEqual(names);
  });
  it("chomps leading tabs of every line", () => {
    expect(chompHeredocContent("\thello\n\t\tworld\n  keep\n")).toBe("hello\nworld\n  keep\n");
  });
});

describe("heredoc bodies", () => {
  const text = [
    "FROM alpine",
    "RUN <<EMPTY",
    "EMPTY",
    "RUN <<-UNINDENT",
    "\tbaz",
    "\tUNINDENT",
    "COPY <<X <<Y /dest",
    "Y",
    "X",
    "X",
    "Y",
    "RUN <<'one two'",
    "echo bar",
    "one two",
    "RUN <<COMMENT",
    "# not a comment here",
    "COMMENT",
    "RUN [\"<<EOF\"]",
    "",
  ].join("\n");
  const ast = parse(text);

  it("reads bodies in order, terminators matched exactly", () => {
    expect(ast.nodes.map((n) => n.heredocs.map((h) => [h.name, h.content]))).toEqual([
      [],
      [["EMPTY", ""]],
      [["UNINDENT", "baz\n"]],
      [["X", "Y\n"], ["Y", "X\n"]],
      [["one two", "echo bar\n"]],
      [["COMMENT", "# not a comment here\n"]],
      [],
    ]);
  });
  it("extends the node to the terminator line", () => {
    const copy = ast.nodes[3]!;
    expect([copy.startLine, copy.endLine]).toEqual([7, 11]);
    expect(copy.range).toEqual({ start: { line: 7, column: 1 }, end: { line: 11, column: 1 } });
  });
  it("marks quoted delimiters as not expanded", () => {
    expect(ast.nodes[4]!.heredocs[0]!.expand).toBe(false);
    expect(ast.nodes[2]!.heredocs[0]!.chomp).toBe(true);
  });
  it("fails on a missing terminator, pointing at the instruction", () => {
    expect(() => parse("FROM a\nRUN <<EOF\nbody\n")).toThrow(expect.objectContaining({ code: "TSB_PARSE_HEREDOC_UNTERMINATED" }));
  });
});
