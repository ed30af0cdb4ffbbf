/**
 * Conformance with Docker's BuildKit: every case of fixtures/conformance is built with the `tsbuild` CLI (the bundled
 * bin/tsbuild.js, as a user runs it) from a busybox base imported as `tsb-busybox`, saved as a docker archive and
 * judged against the reference image recorded by Docker 20.10's BuildKit (config, history, layers, merged fs).
 */
import { describe, it, beforeAll, afterAll } from "@jest/globals";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { busyboxRootfsTar } from "../helpers/base-images.js";
import { BASE_IMAGE, conformanceCases, conformanceContext, expectConforms, type ConformanceCase } from "../helpers/conformance.js";

const repo = resolve(import.meta.dirname, "../..");
const cli = join(repo, "bin/tsbuild.js");
if (!existsSync(join(repo, "dist/cli.js"))) throw new Error("dist/cli.js is missing: run 'node scripts/bundle.mjs' (npm test does it)");

interface CliResult {
  readonly status: number | null;
  readonly output: string;
}

let tmp: string;
let root: string;
/** Cases whose build failed, so that their dependents fail with a precise reason instead of a missing base. */
const failed = new Set<string>();

/** Run the CLI asynchronously (a build may take seconds; keep jest's timers alive) with a private root. */
function tsbuild(args: readonly string[]): Promise<CliResult> {
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

function buildArgs(c: ConformanceCase, context: string, dest: string): string[] {
  const args = ["build", "--progress=plain", "-f", c.dockerfile, "-t", c.imageName];
  for (const [k, v] of Object.entries(c.buildArgs as Record<string, string>)) args.push("--build-arg", `${k}=${v}`);
  if (c.target) args.push("--target", c.target);
  // The archive is judged; the image db copy is what a later case (dependsOn) builds FROM.
  args.push("-o", `type=docker,dest=${dest}`, "-o", "type=image", context);
  return args;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tsbuild-conformance-"));
  root = join(tmp, "root");
  const imported = await tsbuild(["import", await busyboxRootfsTar(), BASE_IMAGE]);
  if (imported.status !== 0) throw new Error(`tsbuild import of the busybox base failed (exit ${imported.status}):\n${imported.output}`);
}, 120_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("conformance with Docker BuildKit (fixtures/conformance)", () => {
  for (const c of conformanceCases()) {
    it(c.name, async () => {
      if (c.dependsOn && failed.has(c.dependsOn)) throw new Error(`case ${c.name} builds FROM case ${c.dependsOn}, which failed`);
      const context = conformanceContext(c, join(tmp, "ctx", c.name));
      const dest = join(tmp, `${c.name}.tar`);
      const r = await tsbuild(buildArgs(c, context, dest));
      if (r.status !== 0) {
        failed.add(c.name);
        throw new Error(`tsbuild build of case ${c.name} failed (exit ${r.status}):\n${r.output.slice(-4000)}`);
      }
      await expectConforms(c.dir, dest);
    }, 60_000);
  }
});
