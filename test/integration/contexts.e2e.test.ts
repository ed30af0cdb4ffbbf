/**
 * Build contexts `docker buildx build` accepts besides a directory: a tar archive on standard input (compressed or
 * not, `-f` inside it), an http(s) URL (tarball, or a plain-text Dockerfile with an empty context), a git repository
 * (`git://` from a local `git daemon`, `#ref:subdir`, the commit time as SOURCE_DATE_EPOCH), and a
 * `--build-context NAME=DIR` used as `FROM NAME`. Scratch copies never outlive the build, even a killed one.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { CLI, E2eWorld, ok, type CliResult } from "../helpers/e2e.js";

const noStack = (r: CliResult): void => expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n|Uncaught/);

/** The image config of an OCI tarball written by `-o type=oci,dest=…`. */
function ociConfig(world: E2eWorld, tarball: string): Record<string, any> {
  const dir = world.tmp("oci-");
  execFileSync("tar", ["-xf", tarball, "-C", dir]);
  const blob = (d: string): any => JSON.parse(readFileSync(join(dir, "blobs", ...d.split(":")), "utf8"));
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  return blob(blob(index.manifests[0].digest).config.digest);
}

describe("build contexts that are not directories", () => {
  let world: E2eWorld;
  let src: string;
  let tarball: Buffer;
  let changing: Buffer;
  let server: Server;
  let port: number;
  let gitd: ChildProcess | undefined;
  let gitPort: number;
  let repos: string;
  const commitTime = 1577934245; // 2020-01-02T03:04:05Z

  beforeAll(async () => {
    for (const bin of ["git", "tar", "xz", "zstd"]) {
      try {
        execFileSync(bin, ["--version"], { stdio: "ignore" });
      } catch {
        throw new Error(`${bin} is missing: apt-get install ${bin === "xz" ? "xz-utils" : bin}`);
      }
    }
    world = await E2eWorld.start([]);
    await world.importBase("busybox", "busybox:latest");
    src = world.tmp("src-");
    mkdirSync(join(src, "sub"));
    writeFileSync(join(src, "Dockerfile"), "FROM busybox\nCOPY sub/a.txt /a.txt\nRUN cat /a.txt > /b.txt\n");
    writeFileSync(join(src, "sub", "Alt.Dockerfile"), "FROM busybox\nCOPY . /all/\n");
    writeFileSync(join(src, "sub", "a.txt"), "from the archive\n");
    tarball = execFileSync("tar", ["-cf", "-", "-C", src, "."]);
    changing = tarball;
    const plain = "FROM busybox\nRUN echo from a plain URL > /p.txt\n";
    server = createServer((req, res) => {
      if (req.url === "/ctx.tar.gz") res.end(execFileSync("gzip", ["-c"], { input: tarball }));
      else if (req.url === "/changing.tar") res.end(changing);
      else if (req.url === "/Dockerfile") res.end(plain);
      else if (req.url === "/files/tool.sh") {
        res.setHeader("Last-Modified", new Date(commitTime * 1000).toUTCString());
        res.end("#!/bin/sh\necho tool\n");
      }
      else if (req.url === "/hang.tar") {
        res.write(tarball.subarray(0, 1024)); // then never ends
      } else {
        res.statusCode = 404;
        res.end("not found");
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;

    // A repository with a tag v1 (app/v.txt = v1, committed at `commitTime`) and main one commit later (v2).
    repos = world.tmp("repos-");
    const repo = join(repos, "r.git");
    const git = (args: string[], env: NodeJS.ProcessEnv = {}): string =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: repo, env: { ...process.env, ...env }, encoding: "utf8" });
    mkdirSync(join(repo, "app"), { recursive: true });
    git(["init", "-q", "-b", "main"]);
    writeFileSync(join(repo, "app", "Dockerfile"), "FROM busybox\nCOPY v.txt /v.txt\n");
    writeFileSync(join(repo, "app", "v.txt"), "v1\n");
    writeFileSync(join(repo, "alt.Dockerfile"), "FROM busybox\nCOPY app/v.txt /v.txt\n");
    git(["add", "."]);
    git(["commit", "-qm", "one"], { GIT_COMMITTER_DATE: "2020-01-02T03:04:05Z", GIT_AUTHOR_DATE: "2020-01-02T03:04:05Z" });
    git(["tag", "v1"]);
    writeFileSync(join(repo, "app", "v.txt"), "v2\n");
    git(["commit", "-qam", "two"]);
    gitPort = 20000 + (process.pid % 20000);
    gitd = spawn("git", ["daemon", `--base-path=${repos}`, "--export-all", "--reuseaddr", "--listen=127.0.0.1", `--port=${gitPort}`, repos], { stdio: "ignore" });
    for (let i = 0; i < 50; i++) {
      try {
        execFileSync("git", ["ls-remote", `git://127.0.0.1:${gitPort}/r.git`], { stdio: "ignore" });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  afterAll(async () => {
    gitd?.kill();
    server?.close();
    await world?.stop();
  });

  const tmpLeft = (): string[] => (existsSync(join(world.root, "tmp")) ? readdirSync(join(world.root, "tmp")) : []);

  it("a tar archive on standard input is the context (plain, gzip, xz, zstd), -f names a file inside it", async () => {
    const forms: [string, Buffer][] = [
      ["tar", tarball],
      ["gzip", execFileSync("gzip", ["-c"], { input: tarball })],
      ["xz", execFileSync("xz", ["-c"], { input: tarball })],
      ["zstd", execFileSync("zstd", ["-c", "-q"], { input: tarball })],
    ];
    for (const [what, bytes] of forms) {
      const out = world.tmp(`out-${what}-`);
      ok(await world.run(["build", "-q", "-o", `type=local,dest=${out}`, "-"], { input: bytes }), what);
      expect({ what, b: readFileSync(join(out, "b.txt"), "utf8") }).toEqual({ what, b: "from the archive\n" });
    }
    const alt = world.tmp("out-alt-");
    ok(await world.run(["build", "-q", "-f", "sub/Alt.Dockerfile", "-o", `type=local,dest=${alt}`, "-"], { input: tarball }));
    expect(readFileSync(join(alt, "all", "sub", "a.txt"), "utf8")).toBe("from the archive\n");
    expect(tmpLeft()).toEqual([]);
  });

  it("a hostile or unusable archive on standard input: a clear error, exit 1, nothing written outside", async () => {
    const { default: tar } = await import("tar-stream");
    const pack = tar.pack();
    pack.entry({ name: "Dockerfile" }, "FROM busybox\n");
    pack.entry({ name: "../../../../../../tmp/tsbuild-slip-e2e" }, "pwned");
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const slip = await world.run(["build", "-q", "-"], { input: Buffer.concat(chunks) });
    expect(slip.code).toBe(1);
    expect(slip.stderr).toMatch(/outside of the context[^\n]*\nhint: .*tar-slip/);
    expect(existsSync("/tmp/tsbuild-slip-e2e")).toBe(false);
    noStack(slip);
    const noDockerfile = await world.run(["build", "-q", "-f", "nope", "-"], { input: tarball });
    expect(noDockerfile.code).toBe(1);
    expect(noDockerfile.stderr).toMatch(/from standard input has no Dockerfile "nope"/);
    expect(tmpLeft()).toEqual([]);
  });

  it("an http(s) URL: a tarball is the context, plain text is a Dockerfile with an empty context", async () => {
    const out = world.tmp("out-url-");
    ok(await world.run(["build", "-q", "-o", `type=local,dest=${out}`, `http://127.0.0.1:${port}/ctx.tar.gz`]));
    expect(readFileSync(join(out, "b.txt"), "utf8")).toBe("from the archive\n");
    const plain = world.tmp("out-plain-");
    ok(await world.run(["build", "-q", "-o", `type=local,dest=${plain}`, `http://127.0.0.1:${port}/Dockerfile`]));
    expect(readFileSync(join(plain, "p.txt"), "utf8")).toBe("from a plain URL\n");
    // build --check fetches a URL context too and reads -f inside it.
    const checked = await world.run(["build", "--check", "-f", "sub/Alt.Dockerfile", `http://127.0.0.1:${port}/ctx.tar.gz`]);
    expect(checked.stderr).not.toContain("cannot read Dockerfile");
    expect(checked.code).toBe(0);
    expect(checked.stdout).toContain("Check complete");
    const graph = await world.run(["graph", `http://127.0.0.1:${port}/ctx.tar.gz`]);
    expect(graph.code).toBe(0);
    expect(graph.stdout).toContain("COPY sub/a.txt /a.txt");
    expect(tmpLeft()).toEqual([]);
  });

  it("rebuilds of a fetched context: cached by content, --explain names the changed file, no per-path index kept", async () => {
    const indexFiles = (): string[] => {
      const d = join(world.root, "cache", "context-index");
      return existsSync(d) ? readdirSync(d).filter((n) => n !== "listings") : [];
    };
    const before = indexFiles();
    const url = `http://127.0.0.1:${port}/changing.tar`;
    ok(await world.run(["build", "-q", url]));
    const again = ok(await world.run(["build", "--progress=plain", url]));
    expect(again.stderr).toMatch(/RUN cat \/a\.txt > \/b\.txt\n#\d+ CACHED/);
    writeFileSync(join(src, "sub", "a.txt"), "changed\n");
    changing = execFileSync("tar", ["-cf", "-", "-C", src, "."]);
    const explained = ok(await world.run(["build", "--explain", "--progress=quiet", url]));
    expect(explained.stderr).toMatch(/COPY sub\/a\.txt \/a\.txt: file changed: "sub\/a\.txt"/);
    expect(indexFiles()).toEqual(before);
  });

  it("a failed download names the URL without credentials and the HTTP status, exit 1", async () => {
    const r = await world.run(["build", "-q", `http://alice:s3cret@127.0.0.1:${port}/missing.tar?token=s3cret`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`cannot download the build context http://127\\.0\\.0\\.1:${port}/missing\\.tar\\?token=…: HTTP status 404\\nhint: `));
    expect(r.stderr + r.stdout).not.toMatch(/s3cret|alice/);
    noStack(r);
    const refused = await world.run(["build", "-q", "http://127.0.0.1:1/ctx.tar"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/the request failed \(ECONNREFUSED\)/);
  });

  it("a build killed while fetching leaves a scratch directory that the next build reaps", async () => {
    const child = spawn(process.execPath, [CLI, "build", "-q", `http://127.0.0.1:${port}/hang.tar`], {
      env: { ...process.env, TSBUILD_ROOT: world.root, NODE_OPTIONS: "" },
      stdio: "ignore",
    });
    for (let i = 0; i < 100 && tmpLeft().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(tmpLeft().length).toBe(1);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("close", r));
    expect(tmpLeft().length).toBe(1);
    ok(await world.run(["build", "-q", "-o", `type=local,dest=${world.tmp("out-after-")}`, `http://127.0.0.1:${port}/Dockerfile`]));
    expect(tmpLeft()).toEqual([]);
  });

  it("a git repository: #ref:subdir, shallow, the commit time as SOURCE_DATE_EPOCH", async () => {
    const url = `git://127.0.0.1:${gitPort}/r.git`;
    const main = world.tmp("out-git1-");
    ok(await world.run(["build", "-q", "-o", `type=local,dest=${main}`, `${url}#main:app`]));
    expect(readFileSync(join(main, "v.txt"), "utf8")).toBe("v2\n");
    const oci = join(world.tmp("oci-git-"), "img.tar");
    ok(await world.run(["build", "-q", "-o", `type=oci,dest=${oci}`, `${url}#v1:app`]));
    expect(Date.parse(ociConfig(world, oci).created) / 1000).toBe(commitTime);
    // No fragment: the remote's HEAD; -f is a path inside the repository.
    const head = world.tmp("out-git2-");
    ok(await world.run(["build", "-q", "-f", "alt.Dockerfile", "-o", `type=local,dest=${head}`, url]));
    expect(readFileSync(join(head, "v.txt"), "utf8")).toBe("v2\n");
    // Submodules come along (BuildKit's default), without their .git; -f - takes the Dockerfile from stdin.
    const sm = join(repos, "sm.git");
    const inRepo = (cwd: string, ...args: string[]): string => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd, encoding: "utf8" });
    mkdirSync(sm);
    inRepo(sm, "init", "-q", "-b", "main");
    writeFileSync(join(sm, "s.txt"), "in a submodule\n");
    inRepo(sm, "add", ".");
    inRepo(sm, "commit", "-qm", "s");
    inRepo(join(repos, "r.git"), "submodule", "add", "-q", `git://127.0.0.1:${gitPort}/sm.git`, "app/sm");
    inRepo(join(repos, "r.git"), "commit", "-qm", "submodule");
    const smOut = world.tmp("out-git4-");
    const dfile = "FROM busybox\nCOPY app/sm /sm/\n";
    ok(await world.run(["build", "-q", "-f", "-", "-o", `type=local,dest=${smOut}`, url], { input: dfile }));
    expect(readdirSync(join(smOut, "sm"))).toEqual(["s.txt"]);
    const bad = await world.run(["build", "-q", `${url}#no-such-branch`]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cannot fetch the git build context git:\/\/127\.0\.0\.1:\d+\/r\.git#no-such-branch: .*no-such-branch/);
    noStack(bad);
    expect(tmpLeft()).toEqual([]);
  });

  it("--build-context NAME=GIT-URL: the repository at #ref:subdir is the named context, clones removed after", async () => {
    const url = `git://127.0.0.1:${gitPort}/r.git`;
    const ctx = world.tmp("named-git-ctx-");
    writeFileSync(join(ctx, "Dockerfile"), "FROM busybox\nCOPY --from=src v.txt /from-git.txt\nCOPY local.txt /\n");
    writeFileSync(join(ctx, "local.txt"), "local\n");
    const out = world.tmp("out-named-git-");
    ok(await world.run(["build", "-q", "--build-context", `src=${url}#v1:app`, "-o", `type=local,dest=${out}`, ctx]));
    expect(readFileSync(join(out, "from-git.txt"), "utf8")).toBe("v1\n");
    expect(readFileSync(join(out, "local.txt"), "utf8")).toBe("local\n");
    const bad = await world.run(["build", "-q", "--build-context", `src=${url}#no-such-branch`, ctx]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no-such-branch/);
    noStack(bad);
    expect(tmpLeft()).toEqual([]);
  });

  it("--build-context NAME=https://…: the file it serves, for COPY --from and RUN --mount from (FROM is refused)", async () => {
    const ctx = world.tmp("named-http-ctx-");
    writeFileSync(join(ctx, "Dockerfile"), "FROM busybox\nCOPY --from=tools tool.sh /bin/tool.sh\nRUN --mount=from=tools,target=/t cat /t/tool.sh > /seen.txt\n");
    const out = world.tmp("out-named-http-");
    ok(await world.run(["build", "-q", "--build-context", `tools=http://127.0.0.1:${port}/files/tool.sh`, "-o", `type=local,dest=${out}`, ctx]));
    expect(readFileSync(join(out, "bin", "tool.sh"), "utf8")).toBe("#!/bin/sh\necho tool\n");
    expect(readFileSync(join(out, "seen.txt"), "utf8")).toBe("#!/bin/sh\necho tool\n");
    const st = statSync(join(out, "bin", "tool.sh"));
    expect([st.mode & 0o777, st.mtimeMs / 1000]).toEqual([0o600, commitTime]); // llb.HTTP: 0600, Last-Modified
    writeFileSync(join(ctx, "Dockerfile"), "FROM tools\n");
    const bad = await world.run(["build", "-q", "--build-context", `tools=http://127.0.0.1:${port}/files/tool.sh`, ctx]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/FROM tools: the named context "tools" is an http\(s\) URL/);
    noStack(bad);
  });

  it("--build-context NAME=DIR in FROM is an image whose root filesystem is the directory", async () => {
    const base = world.tmp("named-");
    mkdirSync(join(base, "etc"));
    writeFileSync(join(base, "etc", "motd"), "named context\n");
    writeFileSync(join(base, ".dockerignore"), "secret\n");
    writeFileSync(join(base, "secret"), "x");
    const ctx = world.tmp("named-ctx-");
    writeFileSync(join(ctx, "Dockerfile"), "FROM busybox AS mybase\nRUN exit 1\nFROM mybase\nCOPY x.txt /x.txt\n");
    writeFileSync(join(ctx, "x.txt"), "x\n");
    const out = world.tmp("out-named-");
    ok(await world.run(["build", "-q", "--build-context", `mybase=${base}`, "-o", `type=local,dest=${out}`, ctx]));
    // The .dockerignore of the named context applies to it (and, as in docker, is itself part of it).
    expect(readdirSync(out).sort()).toEqual([".dockerignore", "etc", "x.txt"]);
    expect(readFileSync(join(out, "etc", "motd"), "utf8")).toBe("named context\n");
  });
});
