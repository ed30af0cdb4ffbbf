import { describe, it, expect } from "@jest/globals";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expandWord, expandWords, ExpandError } from "../../../src/parser/expand.js";

interface Case {
  readonly line: number;
  readonly words: boolean;
  readonly input: string;
  readonly expected: string;
  readonly env: ReadonlyMap<string, string>;
  readonly escape: "\\" | "`";
}

function loadTable(): Case[] {
  const file = fileURLToPath(new URL("../../../fixtures/expand/words.txt", import.meta.url));
  const env = new Map<string, string>();
  let escape: "\\" | "`" = "\\";
  const cases: Case[] = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) return;
      if (line.startsWith("ENV ")) {
        const kv = line.slice(4);
        const eq = kv.indexOf("=");
        env.set(kv.slice(0, eq), kv.slice(eq + 1));
        return;
      }
      if (line.startsWith("UNSET ")) return void env.delete(line.slice(6).trim());
      if (line.startsWith("ESCAPE ")) return void (escape = line.slice(7).trim() === "`" ? "`" : "\\");
      const sep = line.indexOf(" | ");
      if (sep < 0) throw new Error(`words.txt:${i + 1}: no " | " separator`);
      let input = line.slice(0, sep).trim();
      let expected = line.slice(sep + 3).trim();
      const words = input.startsWith("words: ");
      if (words) input = input.slice(7).trim();
      if (expected.startsWith("json:")) expected = JSON.parse(expected.slice(5)) as string;
      cases.push({ line: i + 1, words, input, expected, env: new Map(env), escape });
    });
  return cases;
}

const cases = loadTable();

describe("fixtures/expand/words.txt", () => {
  it("has at least 80 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(80);
  });

  it.each(cases.map((c) => [`${c.line}: ${c.words ? "words " : ""}${c.input}`, c] as const))("%s", (_name, c) => {
    const run = (): unknown => (c.words ? expandWords(c.input, c.env, { escape: c.escape }) : expandWord(c.input, c.env, { escape: c.escape }));
    if (c.expected === "error" || c.expected.startsWith("error ")) {
      let err: unknown;
      try {
        run();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ExpandError);
      const code = c.expected.slice(6).trim();
      if (code) expect((err as ExpandError).code).toBe(code);
      return;
    }
    if (c.words) expect(run()).toEqual(c.expected.split(","));
    else expect(run()).toBe(c.expected);
  });
});
