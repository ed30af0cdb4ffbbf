/**
 * Conformance with Docker's BuildKit: every case of fixtures/conformance is built with the `tsbuild` CLI (the bundled
 * bin/tsbuild.js, as a user runs it) from a busybox base imported as `tsb-busybox`, saved as a docker archive and
 * judged against the reference image recorded by Docker 20.10's BuildKit (config, history, layers, merged fs).
 */
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { busyboxRootfsTar } from "../helpers/base-images.js";
import { BASE_IMAGE, conformanceCases, conformanceContext, conformanceDiffs, expectedOf, type ConformanceCase } from "../helpers/conformance.js";
import { archiveExpectation, startHttpServer } from "../../scripts/conformance/lib.mjs";

const repo = resolve(import.meta.dirname, "../..");
const cli = join(repo, "bin/tsbuild.js");
if (!existsSync(join(repo, "dist/cli.js"))) throw new Error("dist/cli.js is missing: run 'node scripts/bundle.mjs' (npm test does it)");

/**
 * Where tsbuild deliberately differs from the Docker 20.10 reference, per case: files whose content differs, with the
 * reference's text and tsbuild's. The test checks that both texts hash to what each image holds, and that nothing
 * else differs, so a deviation stays exactly as narrow as stated here.
 */
const DEVIATIONS: Readonly<Record<string, { readonly why: string; readonly files: Readonly<Record<string, readonly [docker: string, tsbuild: string]>> }>> = {
  // `id` run as USER: Docker 20.10 leaves the primary group out of the supplementary groups (containerd/BuildKit
  // fixed this in 2023, CVE-2023-25173); tsbuild, like current BuildKit, always includes it (the kernel sorts them).
  "user-run": {
    why: "the primary group is a supplementary group too",
    files: {
      "/tmp/id-app.txt": ["uid=1000(app) gid=1000(app) groups=50(staff),100(users)\n", "uid=1000(app) gid=1000(app) groups=50(staff),100(users),1000(app)\n"],
      "/tmp/id-1000-50.txt": ["uid=1000(app) gid=50(staff)\n", "uid=1000(app) gid=50(staff) groups=50(staff)\n"],
      "/tmp/id-4242.txt": ["uid=4242 gid=4343\n", "uid=4242 gid=4343 groups=4343\n"],
      "/tmp/id-root.txt": ["uid=0(root) gid=0(root)\n", "uid=0(root) gid=0(root) groups=0(root)\n"],
    },
  },
  "run-environment": {
    why: "the primary group is a supplementary group too",
    files: { "/id.txt": ["uid=0(root) gid=0(root)\n", "uid=0(root) gid=0(root) groups=0(root)\n"] },
  },
  // tsbuild's sandbox (native/run.c) runs the command under its own reaper (pid 2), without a seccomp filter, and
  // mounts neither sysfs on /sys nor mqueue on /dev/mqueue; runc under Docker does all three.
  "run-sandbox-env": {
    why: "tsbuild's sandbox: the command is pid 2, no seccomp filter, no /sys or /dev/mqueue",
    files: {
      "/pid.txt": ["1\n", "2\n"],
      "/status.txt": ["NoNewPrivs:\t0\nSeccomp:\t2\n", "NoNewPrivs:\t0\nSeccomp:\t0\n"],
      "/dev-list.txt": [
        "fd\nfull\nmqueue\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n",
        "fd\nfull\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n",
      ],
      "/sys-mqueue.txt": [
        "/sys 555 directory\n/dev/mqueue 1777 directory\n",
        "stat: can't stat '/sys': No such file or directory\nstat: can't stat '/dev/mqueue': No such file or directory\n",
      ],
    },
  },
  "user-numeric": {
    why: "the primary group is a supplementary group too",
    files: { "/tmp/id.txt": ["uid=1234 gid=0(root)\n", "uid=1234 gid=0(root) groups=0(root)\n"] },
  },
};

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

/** Fail unless the saved image conforms to the case, apart from the case's declared deviations (checked exactly). */
async function expectConformsExcept(c: ConformanceCase, saved: string): Promise<void> {
  const dev = DEVIATIONS[c.name];
  let diffs = await conformanceDiffs(c.dir, saved);
  if (dev) {
    const paths = Object.keys(dev.files);
    const expected = expectedOf(c.dir);
    const actual = await archiveExpectation(saved, { baseLayers: expected.base.layers, baseHistory: expected.base.history });
    const shaOf = (list: readonly { path: string; sha256?: string }[], p: string): string | undefined => list.find((e) => e.path === p)?.sha256;
    for (const [p, [docker, ours]] of Object.entries(dev.files)) {
      // The object names the file and the deviation, so a failure says which declared difference no longer holds.
      const what = { path: p, deviation: dev.why };
      expect({ ...what, reference: shaOf(expected.merged.changed, p) }).toEqual({ ...what, reference: sha256(docker) });
      expect({ ...what, tsbuild: shaOf(actual.merged.changed, p) }).toEqual({ ...what, tsbuild: sha256(ours) });
    }
    diffs = diffs.filter((d) => !paths.some((p) => new RegExp(`(^merged|\\)) ${p.replace(/[.]/g, "\\.")}: (size|sha256) `).test(d)));
  }
  if (diffs.length) {
    throw new Error(`image does not conform to conformance case ${c.name} (${diffs.length} difference(s)):\n  ${diffs.join("\n  ")}`);
  }
}

interface CliResult {
  readonly status: number | null;
  readonly output: string;
}

let tmp: string;
let root: string;
/** The web server of the `ADD http://…` cases (the reference downloaded the same files from the same URLs). */
let server: { close(): Promise<void> } | undefined;
/** Builds run two at a time (one per core) from beforeAll; each case's test awaits its own. */
const BUILD_CONCURRENCY = 2;
const builds = new Map<string, Promise<CliResult>>();

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
  for (const [id, src] of Object.entries(c.secrets as Record<string, string>)) args.push("--secret", `id=${id},src=${src}`);
  if (c.target) args.push("--target", c.target);
  // The archive is judged; the image db copy is what a later case (dependsOn) builds FROM.
  args.push("-o", `type=docker,dest=${dest}`, "-o", "type=image", context);
  return args;
}

const contextOf = (c: ConformanceCase): string => join(tmp, "ctx", c.name);
const archiveOf = (c: ConformanceCase): string => join(tmp, `${c.name}.tar`);

/** Start every case's build, at most BUILD_CONCURRENCY at once, a dependent case after the case it builds FROM. */
function startBuilds(cases: readonly ConformanceCase[]): void {
  let running = 0;
  // Tests await their builds in case order, so a free slot goes to the earliest waiting case: a dependent case that
  // waited for the case it builds FROM does not queue behind every later case (and time out).
  const waiting: { readonly order: number; readonly go: () => void }[] = [];
  const slot = async (order: number): Promise<void> => {
    if (running < BUILD_CONCURRENCY) {
      running++;
      return;
    }
    await new Promise<void>((go) => {
      waiting.push({ order, go });
      waiting.sort((a, b) => a.order - b.order);
    });
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next) next.go();
    else running--;
  };
  for (const [order, c] of cases.entries()) {
    const dep = c.dependsOn ? builds.get(c.dependsOn) : undefined;
    const build = (async (): Promise<CliResult> => {
      if (dep && (await dep).status !== 0) return { status: null, output: `case ${c.name} builds FROM case ${c.dependsOn}, which failed` };
      await slot(order);
      try {
        return await tsbuild(buildArgs(c, conformanceContext(c, contextOf(c)), archiveOf(c)));
      } catch (err) {
        return { status: null, output: `could not run tsbuild: ${(err as Error).message}` };
      } finally {
        release();
      }
    })();
    builds.set(c.name, build);
  }
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tsbuild-conformance-"));
  root = join(tmp, "root");
  server = await startHttpServer();
  const imported = await tsbuild(["import", await busyboxRootfsTar(), BASE_IMAGE]);
  if (imported.status !== 0) throw new Error(`tsbuild import of the busybox base failed (exit ${imported.status}):\n${imported.output}`);
  startBuilds(conformanceCases());
}, 120_000);

afterAll(async () => {
  await Promise.all(builds.values());
  await server?.close();
  if (!tmp) return;
  // Rootless, image files owned by subordinate ids can only be removed from inside tsbuild's session.
  if (process.getuid?.() !== 0) {
    const r = await tsbuild(["unshare", "--", "rm", "-rf", root]);
    if (r.status !== 0) throw new Error(`cleaning ${root} in the session failed (exit ${r.status}):\n${r.output}`);
  }
  await rm(tmp, { recursive: true, force: true });
}, 120_000);

describe("conformance with Docker BuildKit (fixtures/conformance)", () => {
  for (const c of conformanceCases()) {
    it(c.name, async () => {
      const build = builds.get(c.name);
      if (!build) throw new Error("the builds did not start: see the beforeAll failure");
      const r = await build;
      if (r.status !== 0) throw new Error(`tsbuild build of case ${c.name} failed (exit ${r.status}):\n${r.output.slice(-4000)}`);
      await expectConformsExcept(c, archiveOf(c));
    }, 60_000);
  }
});
