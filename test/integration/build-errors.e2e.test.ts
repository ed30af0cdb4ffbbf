/**
 * What a user sees when a build fails, end to end: a failing RUN (exit code 1, the Dockerfile line with `>>>`, the
 * command, its exit code, the last log lines and the full log's path) and a COPY of a missing or .dockerignored
 * file (says which). Also --progress=quiet on success.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { E2eWorld, fixture } from "../helpers/e2e.js";

describe("tsbuild build: failures", () => {
  let world: E2eWorld;
  const ctx = fixture("errors");
  const build = (file: string, progress = "plain") =>
    world.run(["build", `--progress=${progress}`, "-f", join(ctx, file), ctx]);

  beforeAll(async () => {
    world = await E2eWorld.start([]);
    await world.importBase("busybox", "busybox");
  });
  afterAll(async () => {
    await world?.stop();
  });

  it("a failing RUN exits 1 and shows the line, the command, the exit code, the last log lines and the log file", async () => {
    const r = await build("Dockerfile.fail");
    expect(r.code).toBe(1);
    const err = r.stderr;
    expect(err).toMatch(/>>> +3 \| RUN echo "about to fail" && echo "last words" >&2 && exit 3/);
    expect(err).toMatch(/ +2 \| RUN echo "step one"/);
    expect(err).toContain("Dockerfile.fail:3");
    expect(err).toContain(`/bin/sh -c echo \\"about to fail\\" && echo \\"last words\\" >&2 && exit 3`);
    expect(err).toMatch(/exit code: 3/);
    expect(err).toMatch(/------\n > \[3\/4\] RUN echo "about to fail"[^\n]*\nabout to fail\nlast words\n------/);
    const log = /full log: (\S+)/.exec(err)?.[1];
    expect(log).toBeDefined();
    expect(existsSync(log!)).toBe(true);
    expect(readFileSync(log!, "utf8")).toContain("about to fail\nlast words\n");
    expect(err).not.toMatch(/\[4\/4\]/);
  });

  it("a COPY of a missing file says it does not exist", async () => {
    const r = await build("Dockerfile.missing");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/>>> +3 \| COPY not-there.txt \/not-there.txt/);
    expect(r.stderr).toMatch(/not-there\.txt"?: does not exist/);
  });

  it("a COPY of an ignored file names the .dockerignore line", async () => {
    const r = await build("Dockerfile.ignored");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/>>> +3 \| COPY private.key \/private.key/);
    expect(r.stderr).toContain("excluded by .dockerignore line 2 (*.key)");
  });

  it("--progress=quiet prints nothing, -q only the image ID", async () => {
    const args = ["-f", join(fixture("onbuild-base"), "Dockerfile"), "--build-arg", "BASE=busybox", fixture("onbuild-base")];
    const quiet = await world.run(["build", "--progress=quiet", ...args]);
    expect(quiet).toEqual({ code: 0, stdout: "", stderr: "" });
    const q = await world.run(["build", "-q", ...args]);
    expect(q.code).toBe(0);
    expect(q.stderr).toBe("");
    expect(q.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  });
});
