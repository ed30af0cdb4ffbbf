/**
 * The build cache end to end, read from `--progress=rawjson`: a rebuild without changes is CACHED at every step
 * and gives the same image ID; a changed context file reruns only the steps from its COPY on; --no-cache,
 * --no-cache-filter and --pull. Also FROM an image built earlier with -t (resolved locally, not from the
 * registry) and ONBUILD triggers of such a base.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { E2eWorld, fixture, ok, rawEvents, runBundle, skopeoConfig, stepOutcomes, tool, unpack, type CliResult } from "../helpers/e2e.js";

describe("tsbuild build: cache, local images, ONBUILD, --pull", () => {
  let world: E2eWorld;
  let ctx: string;
  let base: string;

  const build = (extra: readonly string[] = [], dir = ctx, root?: string): Promise<CliResult> =>
    world.run(["build", "--progress=rawjson", "--build-arg", `BASE=${base}`, ...extra, dir], root ? { root } : {});
  const iidOf = (r: CliResult): string => {
    const summary = rawEvents(r.stderr).find((e) => e.type === "summary");
    return String(summary?.digest);
  };

  beforeAll(async () => {
    world = await E2eWorld.start(["busybox"]);
    base = world.ref("busybox:latest");
    ctx = join(world.tmp("cache-"), "ctx");
    cpSync(fixture("cache"), ctx, { recursive: true });
  });
  afterAll(async () => {
    await world?.stop();
  });

  it("a rebuild without changes is cached at every step and keeps the image ID", async () => {
    const first = ok(await build());
    const a = stepOutcomes(rawEvents(first.stderr));
    expect(a.cached).toEqual([]);
    expect(a.ran).toEqual(expect.arrayContaining(["[deps 2/2] RUN echo deps > /deps.txt", "[stage-1 5/5] RUN cat /app.txt /one.txt > /derived.txt"]));
    await new Promise((r) => setTimeout(r, 1100));
    const second = ok(await build());
    const events = rawEvents(second.stderr);
    const b = stepOutcomes(events);
    expect(b.ran).toEqual([]);
    expect(b.cached.length).toBeGreaterThan(0);
    // Only the context transfer and the export itself start again.
    const started = events.filter((e) => e.type === "vertex.started").map((e) => e.name);
    expect(started.every((n) => n === "[internal] load build context" || /^export|^\[internal\]|exporting/.test(n ?? ""))).toBe(true);
    expect(iidOf(second)).toBe(iidOf(first));
    expect(iidOf(first)).toMatch(/^sha256:/);
  });

  it("SOURCE_DATE_EPOCH still sets the config and history times of a cached build", async () => {
    const dir = join(ctx, "..", "epoch");
    ok(await world.run(["build", "--progress=plain", "--build-arg", `BASE=${base}`, "-o", `type=oci,dest=${dir},tar=false,name=e2e/epoch:1`, ctx],
      { env: { SOURCE_DATE_EPOCH: "1700000000" } }));
    const { config } = skopeoConfig(`oci:${dir}:1`);
    expect(config.created).toBe("2023-11-14T22:13:20Z");
    const built = (config.history as { created: string; created_by?: string }[]).filter((h) => h.created_by?.includes("# buildkit"));
    expect(built.length).toBeGreaterThan(0);
    for (const h of built) expect(h.created).toBe("2023-11-14T22:13:20Z");
  });

  it("changing a context file reruns only the steps from the COPY that reads it", async () => {
    writeFileSync(join(ctx, "app.txt"), "version two\n");
    const r = ok(await build(["-o", `type=oci,dest=${join(ctx, "..", "changed")},tar=false,name=e2e/cache:changed`]));
    const { ran, cached } = stepOutcomes(rawEvents(r.stderr));
    expect(ran).toEqual(["[stage-1 4/5] COPY app.txt /app.txt", "[stage-1 5/5] RUN cat /app.txt /one.txt > /derived.txt"]);
    expect(cached).toContain("[stage-1 3/5] RUN echo one > /one.txt");
    const bundle = unpack(`${join(ctx, "..", "changed")}:changed`, join(ctx, "..", "changed-bundle"));
    expect(runBundle(bundle).stdout).toBe("version two\none\n");
  });

  it("--no-cache reruns everything; --no-cache-filter only the named stage", async () => {
    const all = stepOutcomes(rawEvents(ok(await build(["--no-cache"])).stderr));
    expect(all.cached).toEqual([]);
    expect(all.ran).toEqual(expect.arrayContaining(["[deps 2/2] RUN echo deps > /deps.txt", "[stage-1 3/5] RUN echo one > /one.txt"]));
    const filtered = stepOutcomes(rawEvents(ok(await build(["--no-cache-filter", "stage-1"])).stderr));
    expect(filtered.ran).toEqual(expect.arrayContaining(["[stage-1 3/5] RUN echo one > /one.txt", "[stage-1 5/5] RUN cat /app.txt /one.txt > /derived.txt"]));
    expect(filtered.ran).not.toContain("[deps 2/2] RUN echo deps > /deps.txt");
    // A stage used only through COPY --from, while every later step is cached: its RUN runs again, and what reads
    // its result runs again after it (BuildKit: no cache match through an input forced to re-run).
    const viaCopy = stepOutcomes(rawEvents(ok(await build(["--no-cache-filter", "deps"])).stderr));
    expect(viaCopy.ran).toEqual(expect.arrayContaining(["[deps 2/2] RUN echo deps > /deps.txt", "[stage-1 2/5] COPY --from=deps /deps.txt /deps.txt"]));
  });

  it("FROM a name built with -t resolves locally, and runs its ONBUILD triggers", async () => {
    // The name points at the test registry, which never receives it: only the local image db has it.
    const name = world.ref("e2e/onbuild-base:1");
    ok(await build(["-t", name], fixture("onbuild-base")));
    const inspect = world.run(["pull", name]);
    const child = ok(await world.run(["build", "--progress=rawjson", "--build-arg", `BASE=${name}`,
      "-o", `type=oci,dest=${join(ctx, "..", "child")},tar=false,name=e2e/child:1`, fixture("onbuild-child")]));
    expect((await inspect).code).not.toBe(0);
    const names = rawEvents(child.stderr).map((e) => e.name ?? "");
    expect(names.some((n) => n.includes(`FROM ${name}`))).toBe(true);
    expect(names).toEqual(expect.arrayContaining(["[2/3] ONBUILD COPY trigger.txt /trigger.txt"]));
    const bundle = unpack(`${join(ctx, "..", "child")}:1`, join(ctx, "..", "child-bundle"));
    expect(runBundle(bundle).stdout).toBe("base\ncopied by a trigger\nonbuild ran\n");
  });

  it("--pull asks the registry for a newer base image; without it the pulled one is used", async () => {
    const name = world.ref("e2e/pullbase:latest");
    const other = join(world.dir, "other-root");
    // v1: busybox under a new name (copied by skopeo inside the registry).
    tool("skopeo", ["copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false", `docker://${base}`, `docker://${name}`]);
    // `tsbuild pull` keeps it in the local image db, where FROM finds it before asking the registry.
    ok(await world.run(["pull", "-q", name]));
    const v1 = ok(await build(["--build-arg", `BASE=${name}`], fixture("pull")));
    const fromOf = (r: CliResult): string => rawEvents(r.stderr).map((e) => e.name ?? "").find((n) => n.includes(`FROM ${name}`)) ?? "";
    const d1 = /@(sha256:[0-9a-f]{64})/.exec(fromOf(v1))?.[1];
    expect(d1).toBeDefined();
    // v2, built and pushed from another root, replaces the tag in the registry.
    ok(await world.run(["build", "--progress=plain", "-t", name, "--push", "--build-arg", `BASE=${base}`, fixture("pull")], { root: other }));
    const again = ok(await build(["--build-arg", `BASE=${name}`], fixture("pull")));
    expect(stepOutcomes(rawEvents(again.stderr)).ran).toEqual([]);
    expect(iidOf(again)).toBe(iidOf(v1));
    const pulled = ok(await build(["--pull", "--build-arg", `BASE=${name}`], fixture("pull")));
    const d2 = /@(sha256:[0-9a-f]{64})/.exec(fromOf(pulled))?.[1];
    expect(d2).toBeDefined();
    expect(d2).not.toBe(d1);
    expect(iidOf(pulled)).not.toBe(iidOf(v1));
    expect(stepOutcomes(rawEvents(pulled.stderr)).ran).toContain("[2/2] RUN ls / > /listing.txt");
  });
});
