import { describe, it, expect, beforeAll } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../../..");
const cli = (...args: string[]) => spawnSync(process.execPath, [join(repo, "bin/tsbuild.js"), ...args], { cwd: repo, encoding: "utf8" });

beforeAll(() => {
  const b = spawnSync(process.execPath, [join(repo, "scripts/bundle.mjs")], { cwd: repo, encoding: "utf8" });
  if (b.status !== 0) throw new Error(`bundle failed: ${b.stderr}`);
});

describe("tsbuild graph", () => {
  it("prints a text tree, dot, mermaid and json for the examples", () => {
    const t = cli("graph", "examples/multistage");
    expect(t.status).toBe(0);
    expect(t.stdout).toContain("[stage-2 2/2] COPY --from=build /out/message.txt /usr/share/message.txt");
    expect(t.stdout).toContain("FROM docker.io/library/busybox:latest");
    expect(t.stdout).not.toContain("grep -q tsbuild"); // the unused test stage is pruned
    expect(cli("graph", "--target", "test", "examples/multistage").stdout).toContain("grep -q tsbuild");
    expect(cli("graph", "--format", "dot", "examples/hello").stdout).toMatch(/^digraph tsbuild \{/);
    expect(cli("graph", "--format", "mermaid", "examples/hello").stdout).toMatch(/^flowchart BT/);
    const json = JSON.parse(cli("graph", "--format", "json", "-f", "examples/debian-apt/Dockerfile", "examples/debian-apt").stdout);
    expect(json.version).toBe(1);
    expect(json.vertices.some((v: { op: { kind: string } }) => v.op.kind === "exec")).toBe(true);
    const a = cli("graph", "--build-arg", "BASE=alpine", "examples/multistage");
    expect(a.stdout).toContain("docker.io/library/alpine:latest");
  });

  it("fails with exit 1 and a location on an unknown target", () => {
    const r = cli("graph", "--target", "nope", "examples/multistage");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('target stage "nope" could not be found');
  });
});

describe("tsbuild build --check", () => {
  it("passes on the examples", () => {
    for (const e of ["hello", "multistage", "debian-apt"]) {
      const r = cli("build", "--check", `examples/${e}`);
      expect(r.stdout).toContain("Check complete, no warnings found.");
      expect(r.status).toBe(0);
    }
  });

  it("prints findings, exits 0 for warnings and 1 with check=error=true", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsb-check-"));
    writeFileSync(join(dir, "Dockerfile"), "FROM busybox\nCOPY secret.txt /s\nCMD echo hi\n");
    writeFileSync(join(dir, ".dockerignore"), "secret.txt\n");
    const w = cli("build", "--check", dir);
    expect(w.status).toBe(0);
    expect(w.stdout).toContain("Check complete, 2 warnings have been found!");
    expect(w.stdout).toContain("WARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/");
    expect(w.stdout).toContain("Dockerfile:3");
    expect(w.stdout).toContain(">>> CMD echo hi");
    expect(w.stdout).toContain('Attempting to Copy file "secret.txt" that is excluded by .dockerignore');
    writeFileSync(join(dir, "Dockerfile"), "# check=error=true\nFROM busybox\nCMD echo hi\n");
    const e = cli("build", "--check", dir);
    expect(e.status).toBe(1);
    expect(e.stdout).toContain("ERROR: JSONArgsRecommended");
    expect(e.stderr).toContain("lint violation found for rules: JSONArgsRecommended");
  });

  it("a base image that cannot be resolved fails the build with the Dockerfile line and a hint", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsb-nobase-"));
    writeFileSync(join(dir, "Dockerfile"), "FROM 127.0.0.1:9/missing/image:1\nRUN true\n");
    const r = spawnSync(process.execPath, [join(repo, "bin/tsbuild.js"), "build", "--progress=plain", dir], {
      cwd: repo,
      encoding: "utf8",
      env: { ...process.env, TSBUILD_ROOT: join(dir, "root") },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("127.0.0.1:9/missing/image:1");
    expect(r.stderr).toMatch(/>>> +1 \| FROM 127\.0\.0\.1:9\/missing\/image:1/);
    expect(r.stderr).toContain("hint:");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
  });
});
