import { beforeAll, describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../../..");

beforeAll(() => {
  const b = spawnSync(process.execPath, [join(repo, "scripts/bundle.mjs")], { cwd: repo, encoding: "utf8" });
  if (b.status !== 0) throw new Error(`bundle failed: ${b.stderr}`);
});

describe("usage errors", () => {
  it("exit 2 and never run the command", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsb-usage-"));
    const root = join(dir, "root");
    const r = spawnSync(process.execPath, [join(repo, "bin/tsbuild.js"), "--bogus-flag", "examples/hello"], {
      cwd: repo,
      encoding: "utf8",
      env: { ...process.env, TSBUILD_ROOT: root },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("Unknown argument");
    expect(r.stderr).toContain("tsbuild --help");
    expect(existsSync(root)).toBe(false); // the build never started
  });

  it("a bad flag value is a usage error with a hint", () => {
    const r = spawnSync(process.execPath, [join(repo, "bin/tsbuild.js"), "build", "--progress=bogus", "examples/hello"], { cwd: repo, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("invalid --progress value 'bogus'");
    expect(r.stderr).toContain("hint:");
  });
});

describe("--version", () => {
  it("prints the package version, exit 0", () => {
    const { version } = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { version: string };
    for (const args of [["--version"], ["-v"], ["--root", "/nonexistent", "--version"]]) {
      const r = spawnSync(process.execPath, [join(repo, "bin/tsbuild.js"), ...args], { cwd: repo, encoding: "utf8" });
      expect({ args, status: r.status, stdout: r.stdout }).toEqual({ args, status: 0, stdout: `tsbuild version ${version}\n` });
    }
  });
});
