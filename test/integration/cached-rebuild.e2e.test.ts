/**
 * The fully cached rebuild finishes outside tsbuild's session (no re-exec through the native helper): with the
 * helper made unusable it still succeeds with the same image ID, while a rebuild with a changed file must enter
 * the session (and then builds as usual, with each step reported once).
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { busyboxRootfsTar } from "../helpers/base-images.js";
import { E2eWorld, REPO, fixture, ok, rawEvents, stepOutcomes, type CliResult } from "../helpers/e2e.js";

describe("tsbuild build: fully cached rebuild without the session", () => {
  let world: E2eWorld;
  let ctx: string;
  const noHelper = { TSBUILD_HELPER: "/nonexistent/tsbuild-helper" };

  const build = (env: Record<string, string> = {}): Promise<CliResult> =>
    world.run(["build", "--progress=rawjson", "--build-arg", "BASE=busybox", "-t", "e2e/fast:1", ctx], { env });
  const iidOf = (r: CliResult): string => String(rawEvents(r.stderr).find((e) => e.type === "summary")?.digest);

  beforeAll(async () => {
    world = await E2eWorld.start([]);
    await world.importBase("busybox", "busybox:latest");
    ctx = join(world.tmp("fast-"), "ctx");
    cpSync(fixture("cache"), ctx, { recursive: true });
  });
  afterAll(async () => {
    await world?.stop();
  });

  it("a rebuild without changes does not need the session helper and keeps the image ID and name", async () => {
    const first = ok(await build());
    expect(stepOutcomes(rawEvents(first.stderr)).ran.length).toBeGreaterThan(0);
    const second = ok(await build(noHelper));
    const events = rawEvents(second.stderr);
    const outcome = stepOutcomes(events);
    expect(outcome.ran).toEqual([]);
    expect(outcome.cached.length).toBeGreaterThan(0);
    expect(iidOf(second)).toBe(iidOf(first));
    const images = ok(await world.run(["images"])).stdout;
    expect(images).toMatch(/e2e\/fast\s+1\b/);
  });

  it("a rebuild with a changed file enters the session, and reports each step once", async () => {
    writeFileSync(join(ctx, "app.txt"), "changed\n");
    const refused = await build(noHelper);
    expect(refused.code).not.toBe(0);
    const rebuilt = ok(await build());
    const events = rawEvents(rebuilt.stderr);
    expect(stepOutcomes(events).ran).toEqual(expect.arrayContaining(["[stage-1 5/5] RUN cat /app.txt /one.txt > /derived.txt"]));
    const started = events.filter((e) => e.type === "vertex.started").map((e) => `${String(e.digest)} ${String(e.name)}`);
    expect(new Set(started).size).toBe(started.length);
  });

  it("after two builds in a row that ran steps, the next build goes straight into the session", async () => {
    for (const v of ["loop 1", "loop 2"]) {
      writeFileSync(join(ctx, "app.txt"), `${v}\n`);
      expect(stepOutcomes(rawEvents(ok(await build()).stderr)).ran.length).toBeGreaterThan(0);
    }
    // Nothing changed, but the attempt is skipped: without a usable session helper the build cannot run.
    expect((await build(noHelper)).code).not.toBe(0);
    // This one is fully cached (through the session); the next attempt outside the session is made again.
    expect(stepOutcomes(rawEvents(ok(await build()).stderr)).ran).toEqual([]);
    expect(stepOutcomes(rawEvents(ok(await build(noHelper)).stderr)).ran).toEqual([]);
  });

  it("inside the session the default root is still the invoking user's", async () => {
    const home = world.tmp("home-");
    const env = { TSBUILD_ROOT: "", XDG_DATA_HOME: "", HOME: home };
    const script = `import(${JSON.stringify(join(REPO, "dist", "index.js"))}).then((m) => console.log(m.resolveRoot()))`;
    const r = ok(await world.run(["unshare", "--", process.execPath, "-e", script], { env }));
    const uid = process.getuid?.() ?? 0;
    expect(r.stdout.trim()).toBe(uid === 0 ? "/var/lib/tsbuild" : join(home, ".local", "share", "tsbuild"));
    if (uid !== 0) {
      // Rootless without TSBUILD_ROOT: the build and `images` agree on ~/.local/share/tsbuild.
      ok(await world.run(["import", await busyboxRootfsTar(), "busybox:latest"], { env }));
      ok(await world.run(["build", "-q", "--build-arg", "BASE=busybox", "-t", "e2e/home:1", ctx], { env }));
      expect(ok(await world.run(["images"], { env })).stdout).toMatch(/e2e\/home\s+1\b/);
    }
  });

  it("TSBUILD_FASTPATH=0 always enters the session", async () => {
    const r = await build({ ...noHelper, TSBUILD_FASTPATH: "0" });
    expect(r.code).not.toBe(0);
    ok(await build({ TSBUILD_FASTPATH: "0" }));
  });
});
