/**
 * Hostile input, end to end through the CLI: contexts with symlinks out of the context, ADD of tar-slip archives,
 * fuzzed and known-nasty Dockerfiles (fixtures/hostile/), a RUN trying to escape (host paths, host processes, the
 * network under --network=none) and secrets that must not leak. Each ends with a clear error or a contained
 * result, and nothing outside the build's own directories (root, outputs) changes.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from "@jest/globals";
import { createHash, randomBytes } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import tar from "tar-stream";
import { importBusybox, repo, requireBundle, tempDir, tsbuild, type CliResult } from "../helpers/cli-e2e.js";

let tmp: string;
let root: string;
let sentinel: string;
let before: Map<string, string>;

/** Every entry below `dir` (minus `skip`) with type, mode, size, mtime and content hash. */
function snapshotTree(dir: string, skip: readonly string[], out = new Map<string, string>()): Map<string, string> {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (skip.some((s) => p === s || p.startsWith(`${s}/`))) continue;
    const st = lstatSync(p, { bigint: true });
    let what = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeNs}`;
    if (st.isFile()) what += ` ${createHash("sha256").update(readFileSync(p)).digest("hex")}`;
    else if (st.isSymbolicLink()) what += ` -> ${readlinkSync(p)}`;
    out.set(p, what);
    if (st.isDirectory()) snapshotTree(p, skip, out);
  }
  return out;
}

const outputs = (): string => join(tmp, "out");
const protectedTree = (): Map<string, string> => snapshotTree(tmp, [root, outputs()]);

/** Build a context (created by `files`) with `args`; returns the CLI result. Every build must end, one way or another. */
function buildCtx(name: string, dockerfile: string, files: (dir: string) => void = () => {}, args: readonly string[] = [], env: Record<string, string> = {}): CliResult {
  const ctx = join(tmp, `ctx-${name}`);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, "Dockerfile"), dockerfile);
  files(ctx);
  before = protectedTree();
  return tsbuild(["build", "--progress=plain", "--root", root, ...args, ctx], { env, timeoutMs: 60_000 });
}

/** A clear, typed failure: exit 1, an `error:` line with a hint, no stack trace, no internal error. */
function expectCleanFailure(r: CliResult): void {
  expect(r.signal).toBeNull();
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/(^|\n)error: /);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at .+\(.*:\d+:\d+\)/);
}

beforeAll(async () => {
  requireBundle();
  tmp = await tempDir("hostile");
  root = join(tmp, "root");
  sentinel = join(tmp, "sentinel");
  mkdirSync(join(sentinel, "sub"), { recursive: true });
  writeFileSync(join(sentinel, "keep.txt"), "sentinel\n");
  writeFileSync(join(sentinel, "sub", "deep.txt"), "deep\n");
  mkdirSync(outputs());
  await importBusybox(root);
}, 60_000);

afterEach(() => {
  // Nothing outside the root and the outputs changed: not the sentinel, not the contexts, not the root's parent.
  if (before) expect(protectedTree()).toEqual(before);
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("hostile build contexts", () => {
  it("symlinks out of the context are resolved inside it, never followed to the host", () => {
    const r = buildCtx("symlink", "FROM busybox\nCOPY esc/keep.txt /x\n", (d) => symlinkSync(sentinel, join(d, "esc")));
    expectCleanFailure(r);
    expect(r.stderr).toContain("outside the build context");
    const links = (d: string): void => {
      symlinkSync(join(sentinel, "keep.txt"), join(d, "abs"));
      symlinkSync("../sentinel/keep.txt", join(d, "rel"));
    };
    // Named as a source, a symlink is followed inside the context only: there it leads nowhere.
    const named = buildCtx("symlink-named", "FROM busybox\nCOPY abs /abs\n", links);
    expectCleanFailure(named);
    // Copied with its directory, it stays a symlink with its target as written; no host content comes along.
    const dest = join(outputs(), "symlink-dir");
    const r2 = buildCtx("symlink-dir", "FROM busybox\nCOPY . /all/\n", links, ["-o", `type=local,dest=${dest}`]);
    expect(r2.status).toBe(0);
    expect(lstatSync(join(dest, "all", "abs")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dest, "all", "rel"))).toBe("../sentinel/keep.txt");
  });

  it("ADD of a tar-slip archive stays inside the image", async () => {
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    pack.on("data", (c: unknown) => void chunks.push(c as Buffer));
    const done = new Promise<void>((r) => pack.on("end", () => r()));
    pack.entry({ name: "../../escape1.txt" }, "x");
    pack.entry({ name: `${sentinel}/abs-escape.txt` }, "x");
    pack.entry({ name: "ok/../../../escape2.txt" }, "x");
    pack.entry({ name: "lnk", type: "symlink", linkname: sentinel });
    pack.entry({ name: "lnk/through-link.txt" }, "x");
    pack.entry({ name: "up", type: "symlink", linkname: "../../../../../../../.." });
    pack.entry({ name: `up${sentinel}/through-up.txt` }, "x");
    pack.entry({ name: "hard", type: "link", linkname: join(sentinel, "keep.txt") });
    pack.finalize();
    await done;
    const dest = join(outputs(), "slip");
    const r = buildCtx("slip", "FROM busybox\nADD evil.tar /dst/\n", (d) => writeFileSync(join(d, "evil.tar"), Buffer.concat(chunks)), [
      "-o", `type=local,dest=${dest}`,
    ]);
    if (r.status === 0) {
      // Contained: whatever was unpacked lives inside the image's filesystem (here: the local output).
      expect(readdirSync(dest)).toContain("dst");
    } else {
      expectCleanFailure(r);
    }
  });
});

describe("hostile Dockerfiles", () => {
  const fixtures = join(repo, "fixtures", "hostile", "dockerfiles");

  it("known-nasty Dockerfiles end with a typed error or a build, never a crash or a hang", () => {
    for (const f of readdirSync(fixtures).sort()) {
      const r = buildCtx(`fixture-${f}`, readFileSync(join(fixtures, f), "latin1"), () => {}, ["--network=none"]);
      if (r.status !== 0) expectCleanFailure(r);
      expect({ f, stack: /\n\s+at .+:\d+:\d+\)?\n/.test(r.stderr) }).toEqual({ f, stack: false });
    }
  }, 120_000);

  it("fuzzed Dockerfiles end with a typed error or a build, never a crash or a hang", () => {
    const word = fc.stringMatching(/^[a-z0-9_./-]{1,8}$/);
    const junk = fc.string({ maxLength: 40 }).map((s) => s.replace(/\n/g, " "));
    const flag = fc.constantFrom("--from=x", "--chown=1:1", "--chmod=755", "--link", "--network=none", "--mount=type=tmpfs,target=/t", "--platform=linux/amd64", "--bogus", "--mount=type=secret,id=nope,required");
    const keyword = fc.constantFrom("FROM", "RUN", "COPY", "ADD", "ENV", "ARG", "LABEL", "WORKDIR", "USER", "EXPOSE", "CMD", "ENTRYPOINT", "VOLUME", "SHELL", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "MAINTAINER", "FRUM", "copy");
    const line = fc.oneof(
      fc.tuple(keyword, fc.array(flag, { maxLength: 2 }), fc.array(fc.oneof(word, fc.constantFrom("$X", "${X:-y}", '["a"', "\\", "=", "busybox", "AS", "scratch")), { maxLength: 4 }))
        .map(([k, f, a]) => (k === "RUN" ? `RUN ${f.join(" ")} ${fc.sample(fc.constantFrom("true", "echo hi", "exit 3"), 1)[0]}` : `${k} ${[...f, ...a].join(" ")}`)),
      junk,
      fc.constantFrom("# syntax=docker/dockerfile:1", "# escape=`", "<<EOF", "EOF", "\\", ""),
    );
    const dockerfile = fc.tuple(fc.boolean(), fc.array(line, { minLength: 1, maxLength: 8 })).map(([from, ls]) => `${from ? "FROM busybox\n" : ""}${ls.join("\n")}\n`);
    const seed = Number(process.env.TSBUILD_FUZZ_SEED ?? Date.now() % 100000);
    const samples = fc.sample(dockerfile, { numRuns: 10, seed });
    for (const [i, text] of samples.entries()) {
      const r = buildCtx(`fuzz-${i}`, text, () => {}, ["--network=none"]);
      const ok = r.status === 0 || (r.status === 1 && /(^|\n)error: /.test(r.stderr) && !/internal error|\n\s+at .+:\d+:\d+\)?\n/.test(r.stderr));
      if (!ok) throw new Error(`fuzz seed ${seed}, sample ${i} (exit ${r.status}, signal ${r.signal}):\n${text}\n---\n${r.stderr.slice(-2000)}`);
      expect(protectedTree()).toEqual(before);
    }
  }, 120_000);
});

describe("a RUN that tries to escape", () => {
  let server: Server;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits++;
      res.end("reached the host\n");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("cannot write host paths, see host processes or reach the network under --network=none", () => {
    const port = (server.address() as { port: number }).port;
    const dest = join(outputs(), "escape");
    const run = [
      `mkdir -p /obs ${sentinel}`,
      `echo pwned > ${sentinel}/keep.txt; echo pwned > ${sentinel}/new.txt; echo pwned > ${root}/pwned.txt 2>/dev/null`,
      `echo pwned > /proc/1/root/pwned.txt 2>/dev/null; mount -t tmpfs none /mnt 2>/dev/null; echo $? > /obs/mount.rc`,
      `ps -o pid,comm > /obs/ps.txt`,
      `(wget -q -T 3 -O- http://127.0.0.1:${port}/ > /obs/net.txt 2>&1; echo $? > /obs/net.rc)`,
      `true`,
    ].join("; ");
    const r = buildCtx("escape", `FROM busybox\nRUN ${run}\n`, () => {}, ["--network=none", "-o", `type=local,dest=${dest}`]);
    expect(r.status).toBe(0);
    // The host network is unreachable: wget failed and the server saw nothing.
    expect(readFileSync(join(dest, "obs/net.rc"), "utf8").trim()).not.toBe("0");
    expect(hits).toBe(0);
    // Only the sandbox's own processes are visible (its init as pid 1, the shell, ps), none of the host's.
    const ps = readFileSync(join(dest, "obs/ps.txt"), "utf8").trim().split("\n").slice(1);
    expect(ps.length).toBeLessThanOrEqual(4);
    expect(ps[0]).toMatch(/^\s*1 /);
    expect(ps.join("\n")).not.toMatch(/node|jest/);
    expect(ps.filter((l) => /tsbuild/.test(l)).length).toBeLessThanOrEqual(1);
    // The writes landed in the image (the sentinel path recreated inside the rootfs), not on the host (afterEach).
    expect(readFileSync(join(dest, sentinel.slice(1), "new.txt"), "utf8")).toBe("pwned\n");
  });
});

describe("secrets", () => {
  it("never appear in layers, history, cache records, logs or error messages", () => {
    const secret = `s3cr3t-${randomBytes(12).toString("hex")}`;
    const envSecret = `envs3cr3t-${randomBytes(12).toString("hex")}`;
    const secretFile = join(tmp, "secret.txt");
    writeFileSync(secretFile, secret);
    const env = { MY_TOKEN: envSecret };
    const use = "--mount=type=secret,id=tok --mount=type=secret,id=etok";
    const dockerfile = `FROM busybox\nRUN ${use} test -s /run/secrets/tok && test -s /run/secrets/etok && cp /run/secrets/tok /tmp/t && rm /tmp/t && echo used > /used\n`;
    const dest = join(outputs(), "secret.tar");
    const ok = buildCtx("secret", dockerfile, () => {}, ["--secret", `id=tok,src=${secretFile}`, "--secret", "id=etok,env=MY_TOKEN", "-t", "secret:1", "-o", `type=oci,dest=${dest}`], env);
    if (ok.status !== 0) throw new Error(`secret build failed:\n${ok.stderr}`);
    const failing = buildCtx("secret-fail", `FROM busybox\nRUN ${use} sh -c 'test -s /run/secrets/tok && exit 7'\n`, () => {}, [
      "--secret", `id=tok,src=${secretFile}`, "--secret", "id=etok,env=MY_TOKEN",
    ], env);
    expectCleanFailure(failing);
    for (const s of [secret, envSecret]) {
      for (const r of [ok, failing]) expect(r.stdout + r.stderr).not.toContain(s);
      const found = filesContaining([root, outputs()], Buffer.from(s));
      expect(found).toEqual([]);
    }
  }, 60_000);
});

/** Files below `dirs` whose bytes (gunzipped when gzip, also inside tar-in-gzip) contain `needle`. */
function filesContaining(dirs: readonly string[], needle: Buffer): string[] {
  const hits: string[] = [];
  const visit = (p: string): void => {
    const st = lstatSync(p);
    if (st.isDirectory()) {
      for (const n of readdirSync(p)) visit(join(p, n));
      return;
    }
    if (!st.isFile()) return;
    let data = readFileSync(p);
    if (data[0] === 0x1f && data[1] === 0x8b) {
      try {
        data = gunzipSync(data);
      } catch {
        // not gzip after all
      }
    }
    if (data.includes(needle)) hits.push(p);
  };
  for (const d of dirs) visit(d);
  return hits;
}
