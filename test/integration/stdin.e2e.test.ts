/**
 * Standard input and output as a Docker user uses them: `tsbuild build -f - DIR` and `tsbuild build -` (Dockerfile
 * on stdin, no context), a context tarball on stdin without a Dockerfile, and a reader of `-o -` that exits early
 * (EPIPE: a clear error, exit 1, no stack trace).
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { E2eWorld, ok } from "../helpers/e2e.js";

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
    ok(await world.run(["build", "-q", "-f", "-", "-o", `type=local,dest=${join(ctx, "..", "out-f")}`, ctx], { input: dockerfile }));
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(join(ctx, "..", "out-f", "b.txt"), "utf8")).toBe("from the context\n");
  });

  it("- builds from a Dockerfile on stdin with no context; a COPY has nothing to copy", async () => {
    const out = join(ctx, "..", "out-dash");
    ok(await world.run(["build", "-q", "-o", `type=local,dest=${out}`, "-"], { input: "FROM busybox\nRUN echo no context > /n.txt\n" }));
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(join(out, "n.txt"), "utf8")).toBe("no context\n");
    // The same Dockerfile again is cached (the stand-in context is the same every time).
    const again = await world.run(["build", "--progress=plain", "-o", `type=local,dest=${out}`, "-"], { input: "FROM busybox\nRUN echo no context > /n.txt\n" });
    expect(ok(again).stderr).toMatch(/RUN echo no context[^\n]*\n#\d+ CACHED/);
    const copy = await world.run(["build", "-q", "-"], { input: "FROM busybox\nCOPY a.txt /a.txt\n" });
    expect(copy.code).toBe(1);
    expect(copy.stderr).toMatch(/a\.txt.*(not found|does not exist)/);
    expect(copy.stderr).not.toMatch(/\n\s+at /);
  });

  it("takes a tarball on stdin as the context (here one without a Dockerfile); refuses -f - with - as the context", async () => {
    const { execFileSync } = await import("node:child_process");
    const tarball = execFileSync("tar", ["-cf", "-", "-C", ctx, "."]);
    const tar = await world.run(["build", "-q", "-"], { input: tarball });
    expect(tar.code).toBe(1);
    expect(tar.stderr).toMatch(/the build context from standard input has no Dockerfile "Dockerfile"/);
    expect(tar.stderr).toMatch(/hint: put a Dockerfile at the top of the context/);
    const both = await world.run(["build", "-q", "-f", "-", "-"], { input: "FROM busybox\n" });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/cannot both come from standard input/);
  });

  it("a reader of -o - that stops early gets a clear EPIPE error, exit 1, no stack trace", async () => {
    writeFileSync(join(ctx, "big.bin"), Buffer.alloc(4 << 20, 7));
    writeFileSync(join(ctx, "Dockerfile"), "FROM busybox\nCOPY big.bin /big.bin\n");
    for (const o of ["-", "type=oci,dest=-", "type=docker,dest=-"]) {
      const r = await world.run(["build", "-q", "-o", o, ctx], { input: "", readBytes: 1000 });
      expect({ o, code: r.code }).toEqual({ o, code: 1 });
      expect(r.stderr).toMatch(/standard output was closed before the output was written \(EPIPE\)/);
      expect(r.stderr).not.toMatch(/\n\s+at |Uncaught|triggerUncaughtException/);
    }
    // The root is left consistent.
    expect(ok(await world.run(["doctor"])).stdout).toMatch(/no problems found/);
  });
});
