/**
 * Shared build caches end to end: two tsbuild roots (A builds and exports, B starts empty and imports) against a real
 * docker-registry, through the bundled CLI as a user runs it. Covers registry mode=max (single- and multi-stage, a
 * changed file), mode=min, local (OCI layout) and inline caches, unreachable sources, corrupted blobs and cache mounts.
 */
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { busyboxRootfsTar } from "../helpers/base-images.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const repo = resolve(import.meta.dirname, "../..");
const cli = join(repo, "bin/tsbuild.js");
if (!existsSync(join(repo, "dist/cli.js"))) throw new Error("dist/cli.js is missing: run 'node scripts/bundle.mjs' (npm test does it)");

let tmp: string;
let registry: TestRegistry;
let base: string;

interface CliResult {
  readonly status: number | null;
  readonly output: string;
}

function tsbuild(root: string, args: readonly string[]): Promise<CliResult> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, TSBUILD_ROOT: root, TSBUILD_SESSION: "", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    p.stdout.on("data", (d: Buffer) => (output += d.toString()));
    p.stderr.on("data", (d: Buffer) => (output += d.toString()));
    p.on("error", fail);
    p.on("close", (status) => done({ status, output }));
  });
}

async function ok(root: string, args: readonly string[]): Promise<string> {
  const r = await tsbuild(root, args);
  if (r.status !== 0) throw new Error(`tsbuild ${args.join(" ")} failed (exit ${r.status}):\n${r.output.slice(-4000)}`);
  return r.output;
}

/** Dockerfile steps (`[stage n/m] …`) of a plain progress log, by whether they ran or were cached. */
function steps(output: string): { ran: string[]; cached: string[] } {
  const names = new Map<string, string>();
  const ran: string[] = [];
  const cached: string[] = [];
  for (const line of output.split("\n")) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const [, id, rest] = m as unknown as [string, string, string];
    if (!names.has(id)) {
      names.set(id, rest);
      continue;
    }
    const name = names.get(id)!;
    if (!/^\[(?!internal)/.test(name)) continue;
    if (rest === "CACHED") cached.push(name);
    else if (/^DONE /.test(rest)) ran.push(name);
  }
  return { ran, cached };
}

async function newRoot(name: string): Promise<string> {
  const root = join(tmp, "roots", name);
  await mkdir(root, { recursive: true });
  return root;
}

async function context(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(tmp, "ctx", name);
  await mkdir(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) await writeFile(join(dir, f), text);
  return dir;
}

const MULTI = (from: string): string => `FROM ${from} AS build
RUN echo built > /built.txt
COPY a.txt /a.txt
RUN cat /a.txt /built.txt > /b.txt

FROM ${from}
RUN echo base > /base.txt
COPY --from=build /b.txt /final.txt
RUN cat /final.txt /base.txt > /all.txt
`;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tsbuild-cache-e2e-"));
  registry = await startRegistry();
  base = `${registry.host}/busybox:latest`;
  const seed = await newRoot("seed");
  await ok(seed, ["import", await busyboxRootfsTar(), "busybox"]);
  await ok(seed, ["push", "busybox", base]);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("--cache-to / --cache-from type=registry", () => {
  it("a single-stage cache built on root A makes a fresh root B fully cached, with the same image", async () => {
    const ctx = await context("single", { "Dockerfile": `FROM ${base}\nRUN echo one > /one.txt\nCOPY f.txt /f.txt\nRUN cat /f.txt /one.txt > /two.txt\n`, "f.txt": "hello\n" });
    const [a, b] = [await newRoot("single-a"), await newRoot("single-b")];
    const cacheRef = `${registry.host}/single:cache`;
    await ok(a, ["build", "--progress=plain", "--iidfile", join(tmp, "single-a.iid"), "--cache-to", `type=registry,ref=${cacheRef},mode=max`, ctx]);
    const out = await ok(b, ["build", "--progress=plain", "--iidfile", join(tmp, "single-b.iid"), "--cache-from", `type=registry,ref=${cacheRef}`, ctx]);
    const s = steps(out);
    expect(s.ran).toEqual([]);
    expect(s.cached.length).toBeGreaterThan(0);
    expect(await readFile(join(tmp, "single-b.iid"), "utf8")).toBe(await readFile(join(tmp, "single-a.iid"), "utf8"));
  }, 90_000);

  it("multi-stage, mode=max: fully cached on root B; a changed file reruns only the steps that depend on it", async () => {
    const ctx = await context("multi", { "Dockerfile": MULTI(base), "a.txt": "A\n" });
    const [a, b, c] = [await newRoot("multi-a"), await newRoot("multi-b"), await newRoot("multi-c")];
    const cacheRef = `${registry.host}/multi:cache`;
    await ok(a, ["build", "--progress=plain", "--cache-to", `type=registry,ref=${cacheRef},mode=max`, ctx]);
    const full = steps(await ok(b, ["build", "--progress=plain", "-o", `type=local,dest=${join(tmp, "multi-b-out")}`, "--cache-from", `type=registry,ref=${cacheRef}`, ctx]));
    expect(full.ran).toEqual([]);
    expect(await readFile(join(tmp, "multi-b-out", "all.txt"), "utf8")).toBe("A\nbuilt\nbase\n");

    await writeFile(join(ctx, "a.txt"), "changed\n");
    const out = await ok(c, ["build", "--progress=plain", "-o", `type=local,dest=${join(tmp, "multi-c-out")}`, "--cache-from", `type=registry,ref=${cacheRef}`, ctx]);
    const s = steps(out);
    expect(s.ran.map((n) => n.replace(/^\[(\S+) .*?\] /, "$1: "))).toEqual([
      "build: COPY a.txt /a.txt",
      "build: RUN cat /a.txt /built.txt > /b.txt",
      "stage-1: COPY --from=build /b.txt /final.txt",
      "stage-1: RUN cat /final.txt /base.txt > /all.txt",
    ]);
    expect(s.cached.some((n) => n.includes("RUN echo built"))).toBe(true);
    expect(await readFile(join(tmp, "multi-c-out", "all.txt"), "utf8")).toBe("changed\nbuilt\nbase\n");
  }, 120_000);

  it("mode=min keeps only the final stage's steps", async () => {
    const ctx = await context("min", { "Dockerfile": MULTI(base), "a.txt": "A\n" });
    const [a, b, c] = [await newRoot("min-a"), await newRoot("min-b"), await newRoot("min-c")];
    const cacheRef = `${registry.host}/min:cache`;
    await ok(a, ["build", "--progress=plain", "--cache-to", `type=registry,ref=${cacheRef}`, ctx]);
    // The final image's steps are there: keys come from the inputs' keys, so nothing runs.
    expect(steps(await ok(b, ["build", "--progress=plain", "--cache-from", `type=registry,ref=${cacheRef}`, ctx])).ran).toEqual([]);
    // The build stage's own steps are not.
    const s = steps(await ok(c, ["build", "--progress=plain", "--target", "build", "--cache-from", `type=registry,ref=${cacheRef}`, ctx]));
    expect(s.ran.filter((n) => !n.includes(" FROM "))).toEqual(["[build 2/4] RUN echo built > /built.txt", "[build 3/4] COPY a.txt /a.txt", "[build 4/4] RUN cat /a.txt /built.txt > /b.txt"]);
  }, 90_000);

  it("an unreachable or missing cache source is a warning, and the build runs", async () => {
    const ctx = await context("unreachable", { "Dockerfile": `FROM ${base}\nRUN echo x > /x\n` });
    const out = await ok(await newRoot("unreachable"), [
      "build", "--progress=plain", "--cache-from", "type=registry,ref=127.0.0.1:1/nothing:cache", "--cache-from", `type=registry,ref=${registry.host}/absent:cache`, ctx,
    ]);
    expect(out).toMatch(/WARNING: cache 127\.0\.0\.1:1\/nothing:cache was not imported: .*connection/);
    expect(out).toMatch(/WARNING: cache .*absent:cache was not imported: .*404/);
    expect(steps(out).ran).toContain("[2/2] RUN echo x > /x");
  }, 60_000);

  it("a corrupted layer blob in the registry is ignored with a warning and its step runs again", async () => {
    const ctx = await context("poison", { "Dockerfile": `FROM ${base}\nRUN echo one > /one.txt\nRUN echo two > /two.txt\n` });
    const [a, b] = [await newRoot("poison-a"), await newRoot("poison-b")];
    const cacheRef = `${registry.host}/poison:cache`;
    await ok(a, ["build", "--progress=plain", "--cache-to", `type=registry,ref=${cacheRef},mode=max`, ctx]);
    // The layer of `RUN echo one` (second of the cache's chain): flip its bytes in the registry's storage.
    const manifest = await registryJson(`/v2/poison/manifests/cache`) as { layers: { digest: string; size: number }[] };
    const victim = manifest.layers[1]!.digest.slice("sha256:".length);
    const file = join(registry.dir, "data/docker/registry/v2/blobs/sha256", victim.slice(0, 2), victim, "data");
    const size = (await stat(file)).size;
    await writeFile(file, Buffer.alloc(size, 0x5a));
    const out = await ok(b, ["build", "--progress=plain", "-o", `type=local,dest=${join(tmp, "poison-out")}`, "--cache-from", `type=registry,ref=${cacheRef}`, ctx]);
    expect(out).toMatch(/WARNING: .*sha256:[0-9a-f]{64}.*(could not|bad cached)/);
    expect(steps(out).ran).toEqual(["[2/3] RUN echo one > /one.txt", "[3/3] RUN echo two > /two.txt"]);
    expect(await readFile(join(tmp, "poison-out", "one.txt"), "utf8")).toBe("one\n");
  }, 90_000);
});

async function registryJson(path: string): Promise<unknown> {
  const res = await fetch(`http://${registry.host}${path}`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
  return res.json();
}

describe("--cache-to type=local and type=inline", () => {
  it("round-trips through an OCI layout directory", async () => {
    const ctx = await context("local", { "Dockerfile": MULTI(base), "a.txt": "L\n" });
    const [a, b] = [await newRoot("local-a"), await newRoot("local-b")];
    const dir = join(tmp, "local-cache");
    await ok(a, ["build", "--progress=plain", "--cache-to", `type=local,dest=${dir},mode=max`, ctx]);
    const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as { manifests: { annotations: Record<string, string> }[] };
    expect(index.manifests[0]!.annotations["org.opencontainers.image.ref.name"]).toBe("latest");
    expect((await readdir(join(dir, "blobs", "sha256"))).length).toBeGreaterThan(3);
    const s = steps(await ok(b, ["build", "--progress=plain", "--cache-from", `type=local,src=${dir}`, ctx]));
    expect(s.ran).toEqual([]);
  }, 90_000);

  it("an inline cache in the pushed image config makes root B fully cached", async () => {
    const ctx = await context("inline", { "Dockerfile": `FROM ${base}\nRUN echo in > /in.txt\nRUN echo line > /line.txt\n` });
    const [a, b] = [await newRoot("inline-a"), await newRoot("inline-b")];
    const image = `${registry.host}/inline:latest`;
    await ok(a, ["build", "--progress=plain", "-t", image, "--push", "--cache-to", "type=inline", ctx]);
    const manifest = await registryJson(`/v2/inline/manifests/latest`) as { config: { digest: string } };
    const config = await (await fetch(`http://${registry.host}/v2/inline/blobs/${manifest.config.digest}`)).json() as Record<string, unknown>;
    expect(typeof config["moby.buildkit.cache.v0"]).toBe("string");
    const s = steps(await ok(b, ["build", "--progress=plain", "--cache-from", `type=registry,ref=${image}`, ctx]));
    expect(s.ran).toEqual([]);
  }, 90_000);

  it("cache-mounts=true exports RUN --mount=type=cache directories and --cache-from restores them", async () => {
    const writer = await context("mounts-w", { "Dockerfile": `FROM ${base}\nRUN --mount=type=cache,id=tsb-e2e,target=/c echo kept > /c/state\n` });
    const reader = await context("mounts-r", { "Dockerfile": `FROM ${base}\nRUN --mount=type=cache,id=tsb-e2e,target=/c cp /c/state /seen\n` });
    const [a, b] = [await newRoot("mounts-a"), await newRoot("mounts-b")];
    const cacheRef = `${registry.host}/mounts:cache`;
    await ok(a, ["build", "--progress=plain", "--cache-to", `type=registry,ref=${cacheRef},cache-mounts=true`, writer]);
    await ok(b, ["build", "--progress=plain", "-o", `type=local,dest=${join(tmp, "mounts-out")}`, "--cache-from", `type=registry,ref=${cacheRef}`, reader]);
    expect(await readFile(join(tmp, "mounts-out", "seen"), "utf8")).toBe("kept\n");
  }, 90_000);
});
