/**
 * Reproducible images: the same Dockerfile and context, copied to different directories (with different file
 * times) and built on different roots at different times, give byte-identical image digests when SOURCE_DATE_EPOCH
 * is set, and by default when the context is a git checkout (its last commit time). Covers RUN (files written at
 * build time), COPY, ADD (a file and a local tar) and multi-stage builds. Base-image layers are never rewritten.
 */
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { busyboxRootfsTar } from "../helpers/base-images.js";
import { requireBundle, tempDir, tsbuild } from "../helpers/cli-e2e.js";

const EPOCH = 1_700_000_000;
// The base image's files are dated after EPOCH: clamping them would change the base layer, which must not happen.
const BASE_MTIME = 1_800_000_000;

const SINGLE = `FROM future
RUN mkdir -p /built/sub && echo run > /built/sub/file && ln -s sub/file /built/link && chmod 0750 /built/sub
COPY a.txt /a.txt
COPY dir/ /copied/
ADD b.txt /added/
ADD archive.tar /unpacked/
WORKDIR /work
RUN echo more > more.txt && rm /a.txt
`;

const MULTI = `FROM future AS build
WORKDIR /src
COPY . .
RUN cat a.txt b.txt > joined && mkdir -p out && mv joined out/
FROM future AS other
RUN echo other > /other
FROM future
COPY --from=build /src/out/ /out/
COPY --from=other /other /other
ADD archive.tar /opt/
RUN touch /stamp
`;

let tmp: string;
let baseTar: string;

beforeAll(async () => {
  requireBundle();
  tmp = await tempDir("repro");
  const stage = join(tmp, "bb");
  mkdirSync(stage);
  execFileSync("tar", ["-C", stage, "-xf", await busyboxRootfsTar()]);
  baseTar = join(tmp, "future.tar");
  execFileSync("tar", ["--sort=name", "--numeric-owner", "--owner=0", "--group=0", `--mtime=@${BASE_MTIME}`, "-C", stage, "-cf", baseTar, "."]);
}, 60_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/**
 * A context directory with the given Dockerfile; `mtime` dates every file (it differs between the copies, and is
 * after the epoch, as in any checkout: rewrite-timestamp clamps newer times only, older ones are kept as they are).
 */
function makeContext(dir: string, dockerfile: string, mtime: number): string {
  mkdirSync(join(dir, "dir", "deep"), { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  writeFileSync(join(dir, "a.txt"), "a\n");
  writeFileSync(join(dir, "b.txt"), "b\n");
  writeFileSync(join(dir, "dir", "deep", "c.txt"), "c\n");
  const arch = join(dir, "arch-src");
  mkdirSync(arch);
  writeFileSync(join(arch, "in-tar.txt"), "tar\n");
  execFileSync("tar", ["--numeric-owner", "--owner=0", "--group=0", "--mtime=@1600000000", "-C", arch, "-cf", join(dir, "archive.tar"), "in-tar.txt"]);
  for (const p of ["Dockerfile", "a.txt", "b.txt", "dir/deep/c.txt", "dir/deep", "dir", "archive.tar", "arch-src/in-tar.txt", "arch-src"]) {
    utimesSync(join(dir, p), mtime, mtime);
  }
  return dir;
}

/** Build `ctx` on a new root into an OCI layout directory; returns the manifest, its digest and the config. */
function buildOci(name: string, ctx: string, env: Record<string, string>): { digest: string; manifest: any; config: any; iid: string } {
  const root = join(tmp, `root-${name}`);
  const imp = tsbuild(["import", baseTar, "future", "--root", root]);
  if (imp.status !== 0) throw new Error(`import failed: ${imp.stderr}`);
  const out = join(tmp, `oci-${name}`);
  const iidfile = join(tmp, `iid-${name}`);
  const r = tsbuild(["build", "--progress=plain", "--root", root, "--iidfile", iidfile, "-o", `type=oci,dest=${out},tar=false`, ctx], { env });
  if (r.status !== 0) throw new Error(`build ${name} failed (${r.status}):\n${r.stderr.slice(-3000)}`);
  const index = JSON.parse(readFileSync(join(out, "index.json"), "utf8"));
  const digest: string = index.manifests[0].digest;
  const blob = (d: string): any => JSON.parse(readFileSync(join(out, "blobs", "sha256", d.slice(7)), "utf8"));
  const manifest = blob(digest);
  return { digest, manifest, config: blob(manifest.config.digest), iid: readFileSync(iidfile, "utf8").trim() };
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("reproducible builds", () => {
  it.each([
    ["single-stage", SINGLE],
    ["multi-stage", MULTI],
  ])("%s: SOURCE_DATE_EPOCH gives the same image digest from different directories, roots and times", async (kind, dockerfile) => {
    const one = buildOci(`${kind}-1`, makeContext(join(tmp, `${kind}-ctx1`), dockerfile, 1_720_000_000), { SOURCE_DATE_EPOCH: String(EPOCH) });
    await pause(1100); // RUN steps of the second build write their files in another second
    const two = buildOci(`${kind}-2`, makeContext(join(tmp, `${kind}-ctx2`), dockerfile, 1_750_000_000), { SOURCE_DATE_EPOCH: String(EPOCH) });
    expect(two.config).toEqual(one.config);
    expect(two.iid).toBe(one.iid);
    expect(two.digest).toBe(one.digest);
    expect(one.config.created).toBe("2023-11-14T22:13:20Z");
    for (const h of one.config.history) expect(h.created === undefined || Date.parse(h.created) <= EPOCH * 1000).toBe(true);

    if (kind !== "single-stage") return;
    // Without the epoch the same two contexts give different images (the test can fail).
    const three = buildOci(`${kind}-3`, join(tmp, `${kind}-ctx1`), {});
    expect(three.digest).not.toBe(one.digest);
    // The base layer is the imported blob as it is, never rewritten to the epoch.
    expect(one.manifest.layers[0]).toEqual(three.manifest.layers[0]);
  }, 90_000);

  it("a git checkout as context is reproducible by default (last commit time)", async () => {
    const repoDir = makeContext(join(tmp, "git-src"), SINGLE, 1_720_000_000);
    const commitTime = 1_690_000_000;
    const git = (cwd: string, ...args: string[]): string =>
      execFileSync("git", args, {
        cwd,
        encoding: "utf8",
        env: {
          PATH: process.env.PATH ?? "", HOME: tmp, GIT_CONFIG_NOSYSTEM: "1",
          GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com",
          GIT_AUTHOR_DATE: `@${commitTime} +0000`, GIT_COMMITTER_DATE: `@${commitTime} +0000`,
        },
      });
    git(repoDir, "init", "-q");
    git(repoDir, "add", "-A");
    git(repoDir, "commit", "-q", "-m", "ctx");
    const copy = join(tmp, "git-copy");
    cpSync(repoDir, copy, { recursive: true });
    for (const p of ["a.txt", "b.txt", "Dockerfile"]) utimesSync(join(copy, p), 1_760_000_000, 1_760_000_000);
    const one = buildOci("git-1", repoDir, {});
    await pause(1100);
    const two = buildOci("git-2", copy, {});
    expect(two.digest).toBe(one.digest);
    expect(one.config.created).toBe(new Date(commitTime * 1000).toISOString().replace(".000Z", "Z"));
    // SOURCE_DATE_EPOCH wins over the commit time; an empty value turns the default off.
    const explicit = buildOci("git-3", copy, { SOURCE_DATE_EPOCH: String(EPOCH) });
    expect(explicit.config.created).toBe("2023-11-14T22:13:20Z");
    const off = buildOci("git-4", copy, { SOURCE_DATE_EPOCH: "" });
    expect(off.digest).not.toBe(one.digest);
  }, 90_000);
});
