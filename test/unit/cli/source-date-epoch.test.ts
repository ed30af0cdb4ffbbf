import { describe, it, expect } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clampImageOutputs, sourceDateEpochFor } from "../../../src/cli/commands/source-date-epoch.js";
import { parseOutputSpecs } from "../../../src/exporter/index.js";

describe("sourceDateEpochFor", () => {
  it("takes SOURCE_DATE_EPOCH, rejects garbage, and treats an empty value as off", () => {
    expect(sourceDateEpochFor("/nonexistent", { SOURCE_DATE_EPOCH: "1700000000" })).toBe(1700000000);
    expect(sourceDateEpochFor("/nonexistent", { SOURCE_DATE_EPOCH: "" })).toBeUndefined();
    expect(() => sourceDateEpochFor("/nonexistent", { SOURCE_DATE_EPOCH: "yesterday" })).toThrow(/invalid SOURCE_DATE_EPOCH/);
    expect(sourceDateEpochFor("/nonexistent", {})).toBeUndefined();
  });

  it("uses the last commit time of a git checkout context, unless the variable is set", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsb-sde-"));
    try {
      const env = { PATH: process.env.PATH ?? "", HOME: dir, GIT_CONFIG_NOSYSTEM: "1", GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@e", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@e", GIT_COMMITTER_DATE: "@1690000000 +0000", GIT_AUTHOR_DATE: "@1690000000 +0000" };
      expect(sourceDateEpochFor(dir, env)).toBeUndefined();
      execFileSync("git", ["init", "-q"], { cwd: dir, env });
      expect(sourceDateEpochFor(dir, env)).toBeUndefined(); // no commit yet
      writeFileSync(join(dir, "f"), "x");
      execFileSync("git", ["add", "f"], { cwd: dir, env });
      execFileSync("git", ["commit", "-q", "-m", "m"], { cwd: dir, env });
      expect(sourceDateEpochFor(dir, env)).toBe(1690000000);
      expect(sourceDateEpochFor(dir, { ...env, SOURCE_DATE_EPOCH: "5" })).toBe(5);
      expect(sourceDateEpochFor(dir, { ...env, SOURCE_DATE_EPOCH: "" })).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("clampImageOutputs", () => {
  const raw = ["type=oci,dest=x.tar", "type=local,dest=d"];
  it("turns rewrite-timestamp on for image outputs when an epoch is in effect", () => {
    const out = clampImageOutputs(parseOutputSpecs(raw), raw, 1);
    expect(out?.map((o) => ("image" in o ? o.image.rewriteTimestamp : "n/a"))).toEqual([true, "n/a"]);
  });
  it("leaves outputs alone without an epoch, or when a spec says rewrite-timestamp itself", () => {
    expect(clampImageOutputs(parseOutputSpecs(raw), raw, undefined)?.map((o) => ("image" in o ? o.image.rewriteTimestamp : "n/a"))).toEqual([false, "n/a"]);
    const off = ["type=oci,dest=x.tar,rewrite-timestamp=false"];
    expect(clampImageOutputs(parseOutputSpecs(off), off, 1)?.map((o) => ("image" in o ? o.image.rewriteTimestamp : "n/a"))).toEqual([false]);
    expect(clampImageOutputs(undefined, [], 1)).toBeUndefined();
  });
});
