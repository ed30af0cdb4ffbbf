import { describe, it, expect } from "@jest/globals";
import { join } from "node:path";

/** The room dependency checker (scripts/check-deps.mjs); its table is the enforced form of STYLE.md section (b). */
interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: string;
}
interface RoomRule {
  readonly files: readonly string[];
  readonly entries: readonly string[];
  readonly may: readonly string[];
  readonly types?: readonly string[];
  readonly pure?: boolean;
}
interface CheckDeps {
  ROOMS: Readonly<Record<string, RoomRule>>;
  checkRepo(repo?: string): { violations: Violation[]; graph: Map<string, Map<string, number>> };
  checkSources(files: Map<string, string>, rooms?: Readonly<Record<string, RoomRule>>): { violations: Violation[] };
  scanImports(text: string): { specifier: string; typeOnly: boolean }[];
  formatViolation(v: Violation): string;
}

const repo = join(import.meta.dirname, "..", "..");
const deps = (await import(join(repo, "scripts", "check-deps.mjs"))) as CheckDeps;

/** A small table for the synthetic cases: a leaf, a room that may use it, and one allowed types only. */
const ROOMS: Readonly<Record<string, RoomRule>> = {
  util: { files: ["util/"], entries: ["util/"], may: [] },
  errors: { files: ["errors.ts"], entries: ["errors.ts"], may: [] },
  leaf: { files: ["leaf/"], entries: ["leaf/index.ts"], may: [], pure: true },
  mid: { files: ["mid/"], entries: ["mid/index.ts"], may: ["leaf"], types: ["top"] },
  top: { files: ["top/"], entries: ["top/index.ts"], may: ["mid", "leaf"] },
};

function check(files: Record<string, string>): string[] {
  return deps.checkSources(new Map(Object.entries(files)), ROOMS).violations.map((v) => deps.formatViolation(v));
}

describe("room dependencies of src/", () => {
  it("follow the table in scripts/check-deps.mjs (STYLE.md section (b), convention 12), with no room cycles", () => {
    const start = performance.now();
    const { violations, graph } = deps.checkRepo(repo);
    const took = performance.now() - start;
    // One line per violation, `src/a/x.ts → src/b/y.ts: <rule>`, so a failure lists them all.
    expect(violations.map((v) => deps.formatViolation(v))).toEqual([]);
    expect(graph.get("frontend")?.has("parser")).toBe(true);
    expect(took).toBeLessThan(1000);
  });

  it("every room of the table owns at least one file", () => {
    const { graph } = deps.checkRepo(repo);
    const seen = new Set<string>([...graph.keys()].concat([...graph.values()].flatMap((row) => [...row.keys()])));
    expect(Object.keys(deps.ROOMS).filter((r) => !seen.has(r))).toEqual([]);
  });
});

describe("check-deps", () => {
  it("accepts imports through entries and allowed rows", () => {
    expect(
      check({
        "util/digest.ts": "export const x = 1;",
        "errors.ts": 'import { x } from "./util/digest.js";',
        "leaf/index.ts": 'export { a } from "./a.js";\nimport { E } from "../errors.js";',
        "leaf/a.ts": "export const a = 1;",
        "mid/index.ts": 'import { a } from "../leaf/index.js";',
        "top/index.ts": 'import { m } from "../mid/index.js";\nimport { x } from "../util/digest.js";',
      }),
    ).toEqual([]);
  });

  it("reports a row that does not list the room", () => {
    expect(check({ "leaf/index.ts": 'import { m } from "../mid/index.js";', "mid/index.ts": "" })).toEqual([
      "src/leaf/index.ts → src/mid/index.ts: leaf may not import mid (STYLE.md dependency table)",
    ]);
  });

  it("reports value imports from a types-only room, also through export … from", () => {
    expect(check({ "mid/index.ts": 'import type { T } from "../top/index.js";\nimport { type U } from "../top/index.js";', "top/index.ts": "" })).toEqual([]);
    expect(check({ "mid/index.ts": 'export { T } from "../top/index.js";', "top/index.ts": "" })).toEqual([
      "src/mid/index.ts → src/top/index.ts: mid may import only types from top: use `import type`",
    ]);
  });

  it("reports imports into another room's internals", () => {
    expect(check({ "mid/a.ts": 'import type { A } from "../leaf/a.js";', "leaf/a.ts": "" })).toEqual([
      "src/mid/a.ts → src/leaf/a.ts: imports the internals of leaf: import src/leaf/index.ts instead",
    ]);
  });

  it("reports cycles between rooms, one line per edge of the ring", () => {
    expect(
      check({
        "leaf/index.ts": 'const m = await import("../top/index.js");',
        "top/index.ts": 'import { a } from "../leaf/index.js";',
      }),
    ).toEqual([
      "src/leaf/index.ts → src/top/index.ts: leaf may not import top (STYLE.md dependency table)",
      "src/leaf/index.ts → src/top/index.ts: rooms import each other: leaf → top → leaf",
      "src/top/index.ts → src/leaf/index.ts: rooms import each other: leaf → top → leaf",
    ]);
  });

  it("reports Node I/O modules in a pure room and files no room owns", () => {
    expect(check({ "leaf/a.ts": 'import { readFile } from "node:fs/promises";', "stray/x.ts": "" })).toEqual([
      "src/leaf/a.ts → node:fs/promises: leaf is pure and must not import Node's fs/promises",
      "src/stray/x.ts → (none): no room owns this file: add it to ROOMS in scripts/check-deps.mjs",
    ]);
  });

  it("scans static, type-only, side-effect, re-export and dynamic imports, and ignores comments", () => {
    const text = [
      '// import { no } from "./comment-line.js";',
      '/** @example import { no } from "./comment-block.js" */',
      'import a, { b,\n  type C } from "./value.js";',
      'import { type D, type E } from "./types-by-name.js";',
      'import type { F } from "./types.js";',
      'import "./side-effect.js";',
      'export { g } from "./re-export.js";',
      'export type { H } from "./re-export-type.js";',
      'export * as ns from "./namespace.js";',
      'const mod = await import("./dynamic.js");',
      'const s = "import { x } from \'./in-a-string.js\'";',
    ].join("\n");
    expect(deps.scanImports(text)).toEqual([
      { specifier: "./value.js", typeOnly: false },
      { specifier: "./types-by-name.js", typeOnly: true },
      { specifier: "./types.js", typeOnly: true },
      { specifier: "./side-effect.js", typeOnly: false },
      { specifier: "./re-export.js", typeOnly: false },
      { specifier: "./re-export-type.js", typeOnly: true },
      { specifier: "./namespace.js", typeOnly: false },
      { specifier: "./dynamic.js", typeOnly: false },
    ]);
  });
});
