/**
 * `tsbuild build --explain` and `tsbuild explain` as a user runs them: real builds on busybox, each cause of a cache
 * miss produced for real (a changed context file, build arg, base image, earlier step, --no-cache), and the one
 * line of reason checked against what actually changed.
 */
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { busyboxRootfsTar, requireTool } from "../helpers/base-images.js";

const repo = resolve(import.meta.dirname, "../..");
let tmp: string;
let root: string;
let ctx: string;

function tsbuild(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(repo, "bin/tsbuild.js"), ...args], {
    encoding: "utf8",
    input: "",
    cwd: tmp,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? tmp, TSBUILD_ROOT: root },
    timeout: 120_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Build with --explain; return the explanation lines (Dockerfile line → reason) the user sees on stderr. */
function buildExplain(...extra: string[]): { header: string; lines: Record<string, string>; stderr: string } {
  const r = tsbuild(["build", "--progress=quiet", "--explain", ...extra, ctx]);
  if (r.status !== 0) throw new Error(`build failed (${r.status}):\n${r.stderr}`);
  return { ...parseExplain(r.stderr), stderr: r.stderr };
}

function parseExplain(text: string): { header: string; lines: Record<string, string> } {
  const at = text.indexOf("explain: ");
  if (at === -1) throw new Error(`no explanation in:\n${text}`);
  const [header, ...rest] = text.slice(at).split("\n");
  const lines: Record<string, string> = {};
  for (const l of rest) {
    const m = /^ {2}\S+:(\d+) \[.*?\] .*?: (.*)$/.exec(l);
    if (m) lines[m[1]!] = m[2]!;
    else if (l !== "") throw new Error(`unexpected explanation line ${JSON.stringify(l)} in:\n${text}`);
  }
  return { header: header!, lines };
}

const DOCKERFILE = (run: string) => `FROM busybox\nARG V=1\nARG API_TOKEN=none\n${run}\nCOPY a.txt /a.txt\nRUN cat /a.txt /v\n`;

beforeAll(async () => {
  if (!existsSync(join(repo, "dist/cli.js"))) throw new Error("dist/cli.js is missing: run 'node scripts/bundle.mjs' (npm test does it)");
  requireTool("tar", "tar");
  tmp = await mkdtemp(join(tmpdir(), "tsbuild-explain-"));
  root = join(tmp, "root");
  ctx = join(tmp, "ctx");
  const imported = tsbuild(["import", await busyboxRootfsTar(), "busybox"]);
  if (imported.status !== 0) throw new Error(`import failed: ${imported.stderr}`);
  await rm(ctx, { recursive: true, force: true });
  await import("node:fs/promises").then((f) => f.mkdir(ctx));
  await writeFile(join(ctx, "Dockerfile"), DOCKERFILE("RUN echo v=$V > /v"));
  await writeFile(join(ctx, "a.txt"), "one\n");
}, 120_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("tsbuild build --explain", () => {
  it("explains every cause of a miss with one line naming what changed", async () => {
    const first = buildExplain();
    expect(first.header).toBe("explain: 4 of 4 steps missed the cache");
    expect(Object.values(first.lines).every((r) => r === "first build of this Dockerfile and context (no earlier build record)")).toBe(true);

    expect(buildExplain().header).toBe("explain: all 4 steps cached");

    // A changed context file: named with old and new checksum prefix; the step after it names its parent.
    await writeFile(join(ctx, "a.txt"), "two\n");
    const file = buildExplain();
    expect(file.header).toBe("explain: 2 of 4 steps missed the cache");
    const m = /^file changed: "a\.txt" \(([0-9a-f]{12}) → ([0-9a-f]{12})\)$/.exec(file.lines[5] ?? "");
    expect(m).not.toBeNull();
    expect(m![1]).not.toBe(m![2]);
    expect(file.lines[6]).toBe('parent step "[3/4] COPY a.txt /a.txt" missed');

    // A changed build arg (old → new); a secret-looking one never shows its value, here or in the records.
    const arg = buildExplain("--build-arg", "V=2");
    expect(arg.lines[4]).toBe('build arg V changed: "1" → "2"');
    expect(arg.lines[5]).toBe('parent step "[2/4] RUN echo v=2 > /v" missed');
    const secret = buildExplain("--build-arg", "V=2", "--build-arg", "API_TOKEN=s3cr3t-v4lue");
    expect(secret.lines[4]).toBe("build arg API_TOKEN changed (value hidden)");
    expect(secret.stderr).not.toContain("s3cr3t-v4lue");
    expect(await recordsContain("s3cr3t-v4lue")).toBe(false);

    // A changed earlier step: the instruction text is named, later steps name their parent.
    await writeFile(join(ctx, "Dockerfile"), DOCKERFILE("RUN echo w=$V > /v"));
    const step = buildExplain("--build-arg", "V=2", "--build-arg", "API_TOKEN=s3cr3t-v4lue");
    expect(step.lines[4]).toBe('instruction changed: "RUN echo v=$V > /v" → "RUN echo w=$V > /v"');
    expect(step.lines[6]).toBe('parent step "[3/4] COPY a.txt /a.txt" missed');
    expect(Object.keys(step.lines)).toHaveLength(3);

    // --no-cache: every step says so.
    const nc = buildExplain("--no-cache", "--build-arg", "V=2", "--build-arg", "API_TOKEN=s3cr3t-v4lue");
    expect(Object.values(nc.lines)).toEqual(Array(4).fill("--no-cache: the cache was not used"));

    // `tsbuild explain` reads the last two records of this Dockerfile and context.
    const again = tsbuild(["explain", ctx]);
    expect(again.status).toBe(0);
    expect(parseExplain(again.stdout)).toEqual(parseExplain(nc.stderr));
    const none = tsbuild(["explain", join(tmp, "elsewhere")]);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain("no build of Dockerfile in context");
    expect(none.stderr).toContain("hint:");
  }, 180_000);

  it("names the base image whose digest moved", async () => {
    const df = join(tmp, "base.Dockerfile");
    await writeFile(df, "FROM busybox\nRUN echo base > /b\n");
    expect(buildExplain("-f", df).header).toMatch(/^explain: /);
    // Re-import busybox with one more file: the same name now resolves to another digest.
    const tar = join(tmp, "busybox2.tar");
    copyFileSync(await busyboxRootfsTar(), tar);
    await writeFile(join(tmp, "extra-file"), "extra\n");
    const appended = spawnSync("tar", ["-C", tmp, "-rf", tar, "extra-file"], { encoding: "utf8" });
    expect(appended.status).toBe(0);
    expect(tsbuild(["import", tar, "busybox"]).status).toBe(0);
    const moved = buildExplain("-f", df);
    const from = moved.lines[1] ?? "";
    expect(from).toMatch(/^base image docker\.io\/library\/busybox:latest moved: [0-9a-f]{12} → [0-9a-f]{12}$/);
    expect(moved.lines[2]).toBe(from);
  }, 120_000);
});

/** Whether any build record under the root holds `text`. */
async function recordsContain(text: string): Promise<boolean> {
  const dir = join(root, "cache", "builds");
  const files: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else files.push(join(d, e.name));
    }
  };
  await walk(dir);
  expect(files.length).toBeGreaterThan(1);
  for (const f of files) if ((await readFile(f, "utf8")).includes(text)) return true;
  return false;
}
