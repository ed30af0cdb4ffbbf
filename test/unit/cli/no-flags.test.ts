import { describe, it, expect, beforeAll } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../../..");
const cli = (...args: string[]) => spawnSync(process.execPath, [join(repo, "bin/tsbuild.js"), ...args], { cwd: repo, encoding: "utf8" });

beforeAll(() => {
  const b = spawnSync(process.execPath, [join(repo, "scripts/bundle.mjs")], { cwd: repo, encoding: "utf8" });
  if (b.status !== 0) throw new Error(`bundle failed: ${b.stderr}`);
});

describe("docker flags spelled --no-…", () => {
  it("are options of their own, not negations of another option", () => {
    const check = cli("build", "--check", "--no-cache", "--no-cache-filter", "build", "examples/multistage");
    expect(check.stderr).not.toContain("Unknown argument");
    expect(check.status).toBe(0);
    const root = mkdtempSync(join(tmpdir(), "tsb-noflags-"));
    try {
      const images = cli("images", "--no-trunc", "--root", root);
      expect(images.stderr).not.toContain("Unknown argument");
      expect(images.status).toBe(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("docker build command lines", () => {
  it("accept the classic builder's --rm/--force-rm and buildx's --provenance/--sbom/--add-host", () => {
    const check = cli("build", "--check", "--rm", "--force-rm=true", "--provenance=false", "--sbom=false", "--add-host", "db:10.0.0.5", "examples/multistage");
    expect(check.stderr).not.toContain("Unknown argument");
    expect(check.status).toBe(0);
  });
});
