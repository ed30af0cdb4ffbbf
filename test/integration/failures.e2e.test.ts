/**
 * The failure displays of `tsbuild build`, asserted on what a user sees (the CLI's stderr): a failing RUN (the last
 * 20 log lines, `>>>` on the instruction, command, exit code, full log file), sources that match nothing (which
 * path, in which context, which ignore line of which file), an unknown image in a local registry, Ctrl-C during a
 * RUN (what was interrupted, prompt exit, nothing left behind), exit codes 0/1/2, and stack traces only with --debug.
 */
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { busyboxRootfsTar } from "../helpers/base-images.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const repo = resolve(import.meta.dirname, "../..");
const bin = join(repo, "bin/tsbuild.js");
let tmp: string;
let root: string;
let ctx: string;
let registry: TestRegistry;

const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? tmp, TSBUILD_ROOT: root });

function tsbuild(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", input: "", cwd: tmp, env: env(), timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function dockerfile(name: string, text: string): Promise<string> {
  const p = join(ctx, name);
  await writeFile(p, text);
  return p;
}

const STACK = /\n\s+at .+\(?(file|node):/;

beforeAll(async () => {
  if (!existsSync(join(repo, "dist/cli.js"))) throw new Error("dist/cli.js is missing: run 'node scripts/bundle.mjs' (npm test does it)");
  tmp = await mkdtemp(join(tmpdir(), "tsbuild-failures-"));
  root = join(tmp, "root");
  ctx = join(tmp, "ctx");
  await mkdir(join(ctx, "sub"), { recursive: true });
  await writeFile(join(ctx, "present.txt"), "here\n");
  await writeFile(join(ctx, "notes.secret"), "hidden\n");
  await writeFile(join(ctx, ".dockerignore"), "# ignore file\n*.secret\n");
  const imported = tsbuild(["import", await busyboxRootfsTar(), "busybox"]);
  if (imported.status !== 0) throw new Error(`import failed: ${imported.stderr}`);
  registry = await startRegistry();
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("tsbuild build failure displays", () => {
  it("a failing RUN shows the last 20 log lines, the >>> line, the command, the exit code and the full log; exit 1", async () => {
    const df = await dockerfile("run.Dockerfile", "FROM busybox\nRUN echo ok\nRUN for i in $(seq 1 30); do echo out-$i; done; exit 7\nRUN echo never\n");
    const r = tsbuild(["build", "--progress=quiet", "-f", df, ctx]);
    expect(r.status).toBe(1);
    const block = /------\n > \[3\/4\] RUN for i[^\n]*:\n([\s\S]*?)------\n/.exec(r.stderr)?.[1]?.split("\n").filter(Boolean);
    expect(block).toEqual(Array.from({ length: 20 }, (_, i) => `out-${i + 11}`));
    expect(r.stderr).toMatch(/>>> 3 \| RUN for i in \$\(seq 1 30\); do echo out-\$i; done; exit 7\n/);
    expect(r.stderr).toMatch(/ {4}2 \| RUN echo ok\n/);
    expect(r.stderr).toContain(`${df}:3\n`);
    expect(r.stderr).toContain('process "/bin/sh -c for i in $(seq 1 30); do echo out-$i; done; exit 7" did not complete successfully: exit code: 7');
    const log = /full log: (\S+)/.exec(r.stderr)?.[1];
    expect(log).toBeDefined();
    const full = readFileSync(log!, "utf8");
    for (let i = 1; i <= 30; i++) expect(full).toContain(`out-${i}\n`);
    expect(r.stderr).not.toMatch(STACK);

    const debug = tsbuild(["build", "--progress=quiet", "--debug", "-f", df, ctx]);
    expect(debug.status).toBe(1);
    expect(debug.stderr).toMatch(STACK);
  }, 60_000);

  it("a COPY source that matches nothing says which path, in which context, and which ignore line of which file", async () => {
    const missing = tsbuild(["build", "--progress=quiet", "-f", await dockerfile("missing.Dockerfile", "FROM busybox\nCOPY sub/absent.txt /x\n"), ctx]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/>>> 2 \| COPY sub\/absent\.txt \/x/);
    expect(missing.stderr).toContain(`sub/absent.txt": does not exist (build context: ${ctx})`);
    expect(missing.stderr).toContain("hint:");

    const ignored = tsbuild(["build", "--progress=quiet", "-f", await dockerfile("ignored.Dockerfile", "FROM busybox\nCOPY notes.secret /x\n"), ctx]);
    expect(ignored.status).toBe(1);
    expect(ignored.stderr).toContain('"notes.secret" is excluded by .dockerignore line 2 (*.secret)');

    // A Dockerfile-specific ignore file wins, and is the one named.
    const own = await dockerfile("own.Dockerfile", "FROM busybox\nCOPY present.txt /x\n");
    await writeFile(`${own}.dockerignore`, "present.txt\n");
    const byOwn = tsbuild(["build", "--progress=quiet", "-f", own, ctx]);
    expect(byOwn.status).toBe(1);
    expect(byOwn.stderr).toMatch(/"present\.txt" is excluded by \S*own\.Dockerfile\.dockerignore line 1 \(present\.txt\)/);
    expect(byOwn.stderr).not.toMatch(STACK);
  }, 60_000);

  it("an unknown image in a registry names the image, the registry, its answer and what to do", async () => {
    const image = `${registry.host}/nothere/app:1`;
    const r = tsbuild(["build", "--progress=quiet", "--insecure-registry", registry.host, "-f", await dockerfile("reg.Dockerfile", `FROM ${image}\nRUN true\n`), ctx]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(image);
    expect(r.stderr).toContain(`${registry.host} answered 404`);
    expect(r.stderr).toContain("MANIFEST_UNKNOWN");
    expect(r.stderr).toMatch(/>>> 1 \| FROM /);
    expect(r.stderr).toMatch(/hint: .*(pushed|name|tag)/);
    expect(r.stderr).not.toMatch(STACK);
  }, 60_000);

  it("exit codes: 0 on success, 1 on a failed build, 2 on a usage error", async () => {
    const ok = tsbuild(["build", "--progress=quiet", "-f", await dockerfile("ok.Dockerfile", "FROM busybox\nRUN true\n"), ctx]);
    expect(ok).toMatchObject({ status: 0, stderr: "" });
    const bad = tsbuild(["build", "--progress=quiet", "-f", await dockerfile("bad.Dockerfile", "FROM busybox\nRUN exit 1\n"), ctx]);
    expect(bad.status).toBe(1);
    const usage = tsbuild(["build", "--no-such-flag", ctx]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("no-such-flag");
    const network = tsbuild(["build", "--network", "bridge", ctx]);
    expect(network.status).toBe(2);
    expect(network.stderr).toContain("--network");
    expect(`${usage.stderr}${network.stderr}`).not.toMatch(STACK);
  }, 60_000);

  it("Ctrl-C during a RUN says what was interrupted, exits within a second and leaves nothing behind", async () => {
    const marker = `ctrl-c-${process.pid}-${Date.now()}`;
    const df = await dockerfile("sleep.Dockerfile", `FROM busybox\nRUN echo ${marker}; sleep 30\n`);
    const child = spawn(process.execPath, [bin, "build", "--progress=plain", "-f", df, ctx], { cwd: tmp, env: env(), stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    const closed = new Promise<number | null>((res) => child.once("close", (code) => res(code)));
    await new Promise<void>((res, rej) => {
      child.stderr.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
        if (stderr.includes(`${marker}\n`)) res();
      });
      child.once("close", () => rej(new Error(`build ended before its RUN started:\n${stderr}`)));
    });
    expect(processesWith(marker).length).toBeGreaterThan(0);
    const t0 = Date.now();
    child.kill("SIGINT");
    const code = await closed;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(code).toBe(1);
    expect(stderr).toContain("error: build cancelled");
    expect(stderr).toMatch(/interrupted: \[2\/2\] RUN echo ctrl-c-[\w-]+; sleep 30 after \d/);
    expect(stderr).not.toMatch(STACK);
    // Nothing left: no process of the step, no mount under the root, no temp files of the build.
    await new Promise((r) => setTimeout(r, 200));
    expect(processesWith(marker)).toEqual([]);
    expect(readFileSync("/proc/self/mounts", "utf8").split("\n").filter((l) => l.includes(root))).toEqual([]);
    for (const d of ["tmp", "ingest"]) {
      const p = join(root, d);
      expect(existsSync(p) ? readdirSync(p) : []).toEqual([]);
    }
  }, 60_000);
});

describe("interrupted commands", () => {
  it("Ctrl-C during tsbuild save -o FILE removes the partial archive and exits 130", async () => {
    const out = join(tmp, "saved.tar");
    // The partial file is a FIFO whose reader never reads: the save blocks on it, deterministically mid-write.
    expect(spawnSync("mkfifo", [`${out}.tsbuild-partial`]).status).toBe(0);
    const reader = openSync(`${out}.tsbuild-partial`, constants.O_RDONLY | constants.O_NONBLOCK);
    const child = spawn(process.execPath, [bin, "save", "busybox", "-o", out], { cwd: tmp, env: env(), stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const closed = new Promise<number | null>((res) => child.once("close", (code) => res(code)));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 300));
    closeSync(reader); // the blocked write ends (EPIPE), so the exiting process can stop its I/O thread
    expect(await closed).toBe(130);
    expect(existsSync(`${out}.tsbuild-partial`)).toBe(false);
    expect(existsSync(out)).toBe(false);
    expect(stderr).not.toMatch(STACK);
  }, 30_000);
});

/** Command lines of live processes that contain `text`. */
function processesWith(text: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (cmd.includes(text) && Number(pid) !== process.pid) out.push(`${pid} ${cmd}`);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
