// Golden cases: fixtures/dockerfiles/<case>/{Dockerfile,ast.txt} (BuildKit dump + positions, heredocs, directives,
// warnings) and fixtures/dockerfiles-invalid/<case>/{Dockerfile,error.txt} (code line:column).
// Regenerate with UPDATE_FIXTURES=1 and review the diff.
import { describe, it, expect } from "@jest/globals";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { dumpAst, parseDockerfile, ParseError } from "../../../src/parser/index.js";
import type { Ast, InstructionNode } from "../../../src/parser/index.js";
import type { SourceRange } from "../../../src/errors.js";

const root = resolve(import.meta.dirname, "../../../fixtures");
const update = process.env.UPDATE_FIXTURES === "1";

const r = (x: SourceRange): string => `${x.start.line}:${x.start.column}-${x.end.line}:${x.end.column}`;

function describeNode(n: InstructionNode, indent: string): string {
  let s = `${indent}${n.keywordRaw} ${r(n.range)} lines ${n.startLine}-${n.endLine}${n.json ? " json" : ""}`;
  if (n.comments.length > 0) s += ` comments ${JSON.stringify(n.comments)}`;
  s += "\n";
  for (const h of n.heredocs) {
    s += `${indent}  heredoc ${JSON.stringify(h.name)} fd=${h.fileDescriptor} expand=${h.expand} chomp=${h.chomp} ${JSON.stringify(h.content)}\n`;
  }
  if (n.nested) s += describeNode(n.nested, `${indent}  nested `);
  return s;
}

/** The golden text: BuildKit's dump, then what the dump does not show. */
function describeAst(ast: Ast): string {
  let s = `${dumpAst(ast)}\n--\nescape ${ast.escape}\n`;
  for (const d of ast.directives) s += `directive ${d.name}=${JSON.stringify(d.value)} ${r(d.range)}\n`;
  for (const n of ast.nodes) s += describeNode(n, "");
  for (const w of ast.warnings) s += `warning ${w.rule} ${r(w.range)} ${JSON.stringify(w.message)}\n`;
  return s;
}

function cases(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

describe("parser goldens", () => {
  const valid = cases(join(root, "dockerfiles"));
  const invalid = cases(join(root, "dockerfiles-invalid"));

  it("has enough cases", () => {
    expect(valid.length).toBeGreaterThanOrEqual(25);
    expect(invalid.length).toBeGreaterThanOrEqual(8);
  });

  it.each(valid)("%s", (name) => {
    const dir = join(root, "dockerfiles", name);
    const text = readFileSync(join(dir, "Dockerfile"), "utf8");
    const got = describeAst(parseDockerfile(text, { filename: "Dockerfile" }));
    const file = join(dir, "ast.txt");
    if (update) writeFileSync(file, got);
    expect(got).toBe(readFileSync(file, "utf8"));
  });

  it.each(invalid)("invalid: %s", (name) => {
    const dir = join(root, "dockerfiles-invalid", name);
    const text = readFileSync(join(dir, "Dockerfile"), "utf8");
    let got = "parsed without error\n";
    try {
      parseDockerfile(text, { filename: "Dockerfile" });
    } catch (err) {
      expect(err).toBeInstanceOf(ParseError);
      const e = err as ParseError;
      const at = e.location?.ranges[0]?.start;
      expect(e.location?.filename).toBe("Dockerfile");
      expect(e.location?.text).toBe(text);
      expect(e.hint).toBeTruthy();
      got = `${e.code} ${at?.line}:${at?.column}\n`;
    }
    const file = join(dir, "error.txt");
    if (update) writeFileSync(file, got);
    expect(got).toBe(readFileSync(file, "utf8"));
  });
});
