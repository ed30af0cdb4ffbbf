/**
 * Standard input and output as a Docker user uses them: `tsbuild build -f - DIR` and `tsbuild build -` (Dockerfile
 * on stdin, no context), a context tarball on stdin without a Dockerfile, and a reader of `-o -` that exits early
 * (EPIPE: a clear error, exit 1, no stack trace).
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, E2eWorld, REPO, ok, type CliResult } from "../helpers/e2e.js";

/** Run the CLI with `input` on stdin; stdout is read only up to `readBytes` when given (then the pipe is closed). */
function withStdin(world: E2eWorld, args: readonly string[], input: Buffer | string, readBytes?: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, TSBUILD_ROOT: world.root, NO_COLOR: "1" };
    for (const k of ["NODE_OPTIONS", "SOURCE_DATE_EPOCH", "TSBUILD_PROGRESS"]) delete env[k];
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let got = 0;
    child.stdout.on("data", (b: Buffer) => {
      out.push(b);
      got += b.length;
      if (readBytes !== undefined && got >= readBytes) child.stdout.destroy();
    });
    child.stdout.on("error", () => {});
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.stdin.on("error", () => {});
    child.stdin.end(input);
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

describe("tsbuild build with standard input and output", () => {
  let world: E2eWorld;
  let ctx: string;

  beforeAll(async () => {
    world = await E2eWorld.start([]);
    await world.importBase("busybox", "busybox:latest");
    ctx = world.tmp("stdin-ctx-");
    mkdirSync(join(ctx, "dir"), { recursive: true });
    writeFileSync(join(ctx, "dir", "a.txt"), "from the context\n");
  });
  afterAll(async () => {
    await world?.stop();
  });

  it("-f - reads the Dockerfile from stdin and the files from the context", async () => {
    const dockerfile = "FROM busybox\nCOPY dir/a.txt /a.txt\nRUN cat /a.txt > /b.txt\n";
    ok(await withStdin(world, ["build", "-q", "-f", "-", "-o", `type=local,dest=${join(ctx, "..", "out-f")}`, ctx], dockerfile));
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(join(ctx, "..", "out-f", "b.txt"), "utf8")).toBe("from the context\n");
  });

  it("- builds from a Dockerfile on stdin with no context; a COPY has nothing to copy", async () => {
    const out = join(ctx, "..", "out-dash");
    ok(await withStdin(world, ["build", "-q", "-o", `type=local,dest=${out}`, "-"], "FROM busybox\nRUN echo no context > /n.txt\n"));
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(join(out, "n.txt"), "utf8")).toBe("no context\n");
    // The same Dockerfile again is cached (the stand-in context is the same every time).
    const again = await withStdin(world, ["build", "--progress=plain", "-o", `type=local,dest=${out}`, "-"], "FROM busybox\nRUN echo no context > /n.txt\n");
    expect(ok(again).stderr).toMatch(/RUN echo no context[^\n]*\n#\d+ CACHED/);
    const copy = await withStdin(world, ["build", "-q", "-"], "FROM busybox\nCOPY a.txt /a.txt\n");
    expect(copy.code).toBe(1);
    expect(copy.stderr).toMatch(/a\.txt.*(not found|does not exist)/);
    expect(copy.stderr).not.toMatch(/\n\s+at /);
  });

  it("takes a tarball on stdin as the context (here one without a Dockerfile); refuses -f - with - as the context", async () => {
    const { execFileSync } = await import("node:child_process");
    const tarball = execFileSync("tar", ["-cf", "-", "-C", ctx, "."]);
    const tar = await withStdin(world, ["build", "-q", "-"], tarball);
    expect(tar.code).toBe(1);
    expect(tar.stderr).toMatch(/the build context from standard input has no Dockerfile "Dockerfile"/);
    expect(tar.stderr).toMatch(/hint: put a Dockerfile at the top of the context/);
    const both = await withStdin(world, ["build", "-q", "-f", "-", "-"], "FROM busybox\n");
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/cannot both come from standard input/);
  });

  it("a reader of -o - that stops early gets a clear EPIPE error, exit 1, no stack trace", async () => {
    writeFileSync(join(ctx, "big.bin"), Buffer.alloc(4 << 20, 7));
    writeFileSync(join(ctx, "Dockerfile"), "FROM busybox\nCOPY big.bin /big.bin\n");
    for (const o of ["-", "type=oci,dest=-", "type=docker,dest=-"]) {
      const r = await withStdin(world, ["build", "-q", "-o", o, ctx], "", 1000);
      expect({ o, code: r.code }).toEqual({ o, code: 1 });
      expect(r.stderr).toMatch(/standard output was closed before the output was written \(EPIPE\)/);
      expect(r.stderr).not.toMatch(/\n\s+at |Uncaught|triggerUncaughtException/);
    }
    // The root is left consistent.
    expect(ok(await world.run(["doctor"])).stdout).toMatch(/no problems found/);
  });
});
