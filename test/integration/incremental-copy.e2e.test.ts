/**
 * Incremental COPY end to end: after one context file changes, `COPY . /ctx/` is rebuilt from the previous layer
 * (hard links + the delta; the progress log says how many entries were linked), and the layer exported from it
 * (spliced from the stored uncompressed tar for `-t`, then compressed for `-o type=oci`) holds what a `--no-cache`
 * build of the same context holds, file by file (directory times aside: Docker stamps them with the build time).
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { importBusybox, requireBundle, tempDir, tsbuild } from "../helpers/cli-e2e.js";

let root: string;
let ctx: string;
let out: string;

beforeAll(async () => {
  requireBundle();
  root = await tempDir("incr-root");
  out = await tempDir("incr-out");
  ctx = await tempDir("incr-ctx");
  await importBusybox(root);
  for (let d = 0; d < 10; d++) {
    mkdirSync(join(ctx, `src/d${d}`), { recursive: true });
    for (let f = 0; f < 30; f++) writeFileSync(join(ctx, `src/d${d}/f${f}.txt`), `file ${d}/${f}\n`.repeat(f + 1));
  }
  symlinkSync("src/d0/f0.txt", join(ctx, "link"));
  writeFileSync(join(ctx, "Dockerfile"), "FROM busybox\nCOPY . /ctx/\nRUN ls -R /ctx | wc -l > /count\n");
}, 120_000);

afterAll(() => {
  for (const d of [root, ctx, out]) if (d) rmSync(d, { recursive: true, force: true });
});

function build(args: readonly string[]): string {
  const r = tsbuild(["build", "--root", root, "--progress=plain", ...args, ctx], { timeoutMs: 180_000 });
  if (r.status !== 0) throw new Error(`build ${args.join(" ")} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return r.stderr + r.stdout;
}

/** The COPY layer (second of three) of an OCI archive, unpacked into `dest`. */
function copyLayer(archive: string, dest: string): string {
  const dir = `${dest}-oci`;
  mkdirSync(dir, { recursive: true });
  execFileSync("tar", ["-xf", archive, "-C", dir]);
  const blob = (d: string): string => join(dir, "blobs", "sha256", d.slice(7));
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), "utf8"));
  expect(manifest.layers).toHaveLength(3);
  mkdirSync(dest, { recursive: true });
  execFileSync("tar", ["-xzf", blob(manifest.layers[1].digest), "-C", dest, "--no-same-owner"]);
  return dest;
}

/** path → type, mode, content or link target, and mtime (files and links only). */
function tree(dir: string): Record<string, string> {
  const res: Record<string, string> = {};
  const visit = (abs: string, rel: string): void => {
    const st = lstatSync(abs);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) {
      res[rel] = `dir ${mode}`;
      for (const n of readdirSync(abs).sort()) visit(join(abs, n), `${rel}/${n}`);
    } else if (st.isSymbolicLink()) res[rel] = `link ${Math.floor(st.mtimeMs / 1000)} ${readlinkSync(abs)}`;
    else res[rel] = `file ${mode} ${Math.floor(st.mtimeMs / 1000)} ${readFileSync(abs, "utf8")}`;
  };
  visit(dir, ".");
  return res;
}

describe("incremental COPY", () => {
  it("rebuilds a one-file change from the previous layer and exports what a --no-cache build exports", () => {
    build(["-t", "app"]);
    writeFileSync(join(ctx, "src/d3/f7.txt"), "changed once\n");
    const second = build(["-t", "app"]);
    expect(second).toMatch(/incremental copy: 1 changed, 0 removed, 301 linked/);

    writeFileSync(join(ctx, "src/d5/f1.txt"), "changed twice\n");
    rmSync(join(ctx, "src/d9/f29.txt"));
    const third = build(["-o", `type=oci,dest=${join(out, "incr.tar")}`]);
    expect(third).toMatch(/incremental copy: 1 changed, 1 removed, 300 linked/);
    // The incremental result again (a cache hit), as a local export; then the --no-cache builds.
    build(["-o", `type=local,dest=${join(out, "local-incr")}`]);
    build(["--no-cache", "-o", `type=oci,dest=${join(out, "full.tar")}`]);
    expect(tree(copyLayer(join(out, "incr.tar"), join(out, "incr")))).toEqual(tree(copyLayer(join(out, "full.tar"), join(out, "full"))));
    build(["--no-cache", "-o", `type=local,dest=${join(out, "local-full")}`]);
    expect(tree(join(out, "local-incr", "ctx"))).toEqual(tree(join(out, "local-full", "ctx")));
    expect(readFileSync(join(out, "local-incr", "count"), "utf8")).toBe(readFileSync(join(out, "local-full", "count"), "utf8"));
  }, 300_000);
});
