// Property tests: random and mutated Dockerfiles only ever yield an Ast or a ParseError (never another exception,
// never a hang), and parsing is deterministic.
import { describe, it, expect } from "@jest/globals";
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { dumpAst, parseDockerfile, ParseError } from "../../../src/parser/index.js";

const fixtures = resolve(import.meta.dirname, "../../../fixtures/dockerfiles");
const corpus = readdirSync(fixtures).map((d) => readFileSync(join(fixtures, d, "Dockerfile"), "utf8"));

function parseOrError(text: string): string {
  try {
    const ast = parseDockerfile(text, { filename: "Dockerfile" });
    for (const n of ast.nodes) {
      expect(n.range.start.line).toBeGreaterThanOrEqual(1);
      expect(n.endLine).toBeGreaterThanOrEqual(n.startLine);
    }
    return dumpAst(ast);
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    expect(err.code).toMatch(/^TSB_PARSE_/);
    expect(err.location?.ranges[0]?.start.line).toBeGreaterThanOrEqual(1);
    return `error ${err.code}`;
  }
}

const pieces = [
  "FROM", "RUN", "COPY", "ADD", "ENV", "LABEL", "ARG", "ONBUILD", "HEALTHCHECK", "CMD", "run", " ", "  ", "\t", "\n", "\r\n",
  "\\", "\\\n", "`", "`\n", "#", "# escape=`\n", "# syntax=x\n", "--", "--flag=", '"', "'", "[", "]", ",", "<<", "<<-", "EOF",
  "\nEOF\n", "=", "$", "${", "}", "a", "b c", "\u00a0", "\ufeff", "é", "🐳", "\u0000", "[\"a\"]", "1e999", "{}", "null",
];

describe("parser fuzz", () => {
  it("random token soups", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 60 }), (parts) => {
        const text = parts.join("");
        expect(parseOrError(text)).toBe(parseOrError(text));
      }),
      { numRuns: 1500 },
    );
  });

  it("arbitrary strings", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => void parseOrError(text)), { numRuns: 1500 });
  });

  it("mutated fixtures", () => {
    const mutation = fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.constantFrom(...pieces));
    fc.assert(
      fc.property(fc.constantFrom(...corpus), fc.array(mutation, { minLength: 1, maxLength: 6 }), (base, muts) => {
        let text = base;
        for (const [at, del, ins] of muts) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + ins + text.slice(i + del);
        }
        void parseOrError(text);
      }),
      { numRuns: 1500 },
    );
  });

  it("parses a pathological long line quickly", () => {
    const start = Date.now();
    void parseOrError(`FROM a\nRUN ${'"\\'.repeat(20000)}\nENV ${"a=b ".repeat(5000)}\nCMD [${'"x",'.repeat(5000)}"y"]\n`);
    expect(Date.now() - start).toBeLessThan(5000);
  });
});
