import { describe, it, expect } from "@jest/globals";
import { existsSync, lstatSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { CONTEXT_EPOCH, compareExpectations, type ImageExpectation } from "../../../scripts/conformance/lib.mjs";
import { conformanceCases, conformanceContext } from "../../helpers/conformance.js";

const cases = conformanceCases();

describe("conformance fixtures", () => {
  it("hold at least 25 cases, each with a Dockerfile and a generated expected.json", () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
    for (const c of cases) {
      expect(existsSync(c.dockerfile)).toBe(true);
      const x = JSON.parse(readFileSync(c.expectedPath, "utf8")) as ImageExpectation & { case: string };
      expect(x.case).toBe(c.name);
      expect(x.schema).toBe(1);
      expect(compareExpectations(x, x)).toEqual([]);
    }
  });

  it("list dependencies before their dependents", () => {
    const names = cases.map((c) => c.name);
    for (const c of cases) if (c.dependsOn) expect(names.indexOf(c.dependsOn)).toBeLessThan(names.indexOf(c.name));
  });

  it("prepare contexts with pinned modes and mtimes, symlinks kept", () => {
    const c = cases.find((x) => x.name === "copy-modes-mtimes")!;
    const dir = conformanceContext(c);
    try {
      const mode = (p: string) => (lstatSync(join(dir, p)).mode & 0o7777).toString(8);
      expect(mode("private")).toBe("700");
      expect(mode("private/key")).toBe("600");
      expect(mode("shared")).toBe("2775");
      expect(mode("tool.sh")).toBe("755");
      expect(mode("plain.txt")).toBe("644");
      expect(lstatSync(join(dir, "empty-dir")).isDirectory()).toBe(true);
      expect(lstatSync(join(dir, "ro.txt")).mtimeMs).toBe(CONTEXT_EPOCH * 1000);
      expect(lstatSync(dir).mtimeMs).toBe(CONTEXT_EPOCH * 1000);
      const s = cases.find((x) => x.name === "copy-symlinks")!;
      const sdir = conformanceContext(s);
      expect(readlinkSync(join(sdir, "link-to-dir"))).toBe("dir");
      expect(lstatSync(join(sdir, "dangling")).mtimeMs).toBe(CONTEXT_EPOCH * 1000);
      rmSync(dirname(sdir), { recursive: true, force: true });
    } finally {
      rmSync(dirname(dir), { recursive: true, force: true });
    }
  });
});
