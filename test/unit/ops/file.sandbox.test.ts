import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, utimes, writeFile, chmod, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tar, { type Header } from "tar-stream";
import { requireTool } from "../../helpers/base-images.js";
import { openContext } from "../../../src/context/index.js";
import { createFileOp } from "../../../src/ops/file.js";
import { noProgress } from "../../../src/progress/events.js";
import { sha256 } from "../../../src/util/digest.js";
import { EMPTY_REF } from "../../../src/cache/index.js";
import type { OpResult } from "../../../src/ops/types.js";
import { cacheOf, copyCtx, dumpTree, fileVertex, makeContext, openHarness, runFileOp, statIn, type Harness } from "./file-harness.js";

/** A tar made by GNU tar from a small staged tree (numeric owners 0:0 except `owned`, 1000:50), GNU or `format`. */
async function stagedTar(dir: string, format?: string): Promise<string> {
  const stage = join(dir, "stage");
  const fmt = format ? [`--format=${format}`] : [];
  await mkdir(join(stage, "pkg/bin"), { recursive: true });
  await writeFile(join(stage, "pkg/bin/run"), "#!/bin/sh\n");
  await chmod(join(stage, "pkg/bin/run"), 0o755);
  await writeFile(join(stage, "pkg/owned"), "o");
  execFileSync("ln", ["-sfn", "bin/run", join(stage, "pkg/link")]);
  await utimes(join(stage, "pkg/owned"), 1_500_000_000, 1_500_000_000);
  const out = join(dir, `pkg${format ? `-${format}` : ""}.tar`);
  execFileSync("tar", [...fmt, "--sort=name", "--numeric-owner", "--owner=0", "--group=0", "-C", stage, "-cf", out, "pkg/bin", "pkg/link"]);
  execFileSync("tar", [...fmt, "--numeric-owner", "--owner=1000", "--group=50", "-C", stage, "-rf", out, "pkg/owned"]);
  return out;
}

/** A tar built entry by entry (for hostile names). */
async function rawTar(entries: readonly (Partial<Header> & { name: string })[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === "file") pack.entry(e, "x");
    else pack.entry(e);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe("ADD, mkdir, mkfile, rm and cache keys (file op)", () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    for (const [tool, pkg] of [["xz", "xz-utils"], ["bzip2", "bzip2"], ["zstd", "zstd"], ["gzip", "gzip"]] as const) requireTool(tool, pkg);
    h = await openHarness({ sourceDateEpoch: 1_600_000_000 });
    dir = await mkdtemp(join(tmpdir(), "tsb-fileop-add-"));
    const plain = await stagedTar(dir);
    const ctxDir = join(dir, "ctx");
    await mkdir(ctxDir);
    await writeFile(join(ctxDir, "pkg.tar"), await readFile(plain));
    // V7: no ustar magic, directories named with a trailing `/` (Go's archive/tar reads it, so moby's untar does)
    await writeFile(join(ctxDir, "pkg-v7.tar"), await readFile(await stagedTar(dir, "v7")));
    for (const [tool, ext] of [["gzip", "gz"], ["xz", "xz"], ["bzip2", "bz2"], ["zstd", "zst"]] as const) {
      // Names that do not tell the format: detection is by content.
      await writeFile(join(ctxDir, `pkg-${ext}.bin`), execFileSync(tool, ["-c", plain]));
    }
    await writeFile(join(ctxDir, "notar.gz"), "plain text, not an archive\n");
    await writeFile(join(ctxDir, "slip.tar"), await rawTar([{ name: "ok.txt", type: "file", size: 1 }, { name: "../../escaped.txt", type: "file", size: 1 }]));
    await writeFile(join(ctxDir, "linkslip.tar"), await rawTar([{ name: "l", type: "symlink", linkname: "../../../../etc/passwd" }]));
    await writeFile(join(ctxDir, "hardslip.tar"), await rawTar([{ name: "h", type: "link", linkname: "../outside" }]));
    await writeFile(join(ctxDir, "linkfirst.tar"), await rawTar([{ name: "d", type: "symlink", linkname: "/tmp" }]));
    await writeFile(join(ctxDir, "xattr.tar"), await rawTar([{ name: "x/tagged.txt", type: "file", size: 1, pax: { "SCHILY.xattr.user.tsb": "v1", "SCHILY.xattr.trusted.overlay.opaque": "y" } }]));
    await writeFile(join(ctxDir, "dirover.tar"), await rawTar([{ name: "d/", type: "directory", mode: 0o700 }, { name: "d/f", type: "file", size: 1 }]));
    await writeFile(
      join(ctxDir, "chroot.tar"),
      await rawTar([
        { name: "etc", type: "symlink", linkname: "/" },
        { name: "etc/inside.txt", type: "file", size: 1 },
        { name: "abs/../abs.txt", type: "file", size: 1 },
      ]),
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  const ctx = async () => openContext({ root: join(dir, "ctx") });
  const pkgTree = {
    ".": "dir 755 0:0",
    pkg: "dir 755 0:0",
    "pkg/bin": "dir 755 0:0",
    "pkg/bin/run": 'file 755 0:0 "#!/bin/sh\\n"',
    "pkg/link": "link 0:0 -> bin/run",
    "pkg/owned": 'file 644 1000:50 "o"',
  };

  it.each(["pkg.tar", "pkg-gz.bin", "pkg-xz.bin", "pkg-bz2.bin", "pkg-zst.bin", "pkg-v7.tar"])("ADD extracts %s (format detected by content)", async (name) => {
    const ref = await runFileOp(h, [copyCtx(`/${name}`, "/opt/", { unpack: true })], { ctx: await ctx() });
    expect(await dumpTree(h, ref, "/opt")).toEqual(pkgTree);
    expect((await statIn(h, ref, "/opt/pkg/owned"))!.mtimeMs).toBe(1_500_000_000_000);
  });

  it("ADD --chown owns the destination dir it creates, never the extracted entries (Docker 20.10); COPY and --unpack=false copy the archive as is", async () => {
    const c = await ctx();
    const ref = await runFileOp(h, [copyCtx("/pkg.tar", "/opt", { unpack: true, chown: { user: "app" } }), copyCtx("/pkg-gz.bin", "/keep/", {}), copyCtx("/notar.gz", "/keep/", { unpack: true })], { ctx: c });
    expect((await statIn(h, ref, "/opt"))!.uid).toBe(1000);
    expect(await dumpTree(h, ref, "/opt/pkg/owned")).toEqual({ ".": 'file 644 1000:50 "o"' });
    expect(await dumpTree(h, ref, "/opt/pkg/link")).toEqual({ ".": "link 0:0 -> bin/run" });
    expect((await statIn(h, ref, "/keep/pkg-gz.bin"))!.isFile()).toBe(true);
    expect(await dumpTree(h, ref, "/keep/notar.gz")).toEqual({ ".": 'file 644 0:0 "plain text, not an archive\\n"' });
  });

  it("replaces a symlink where the archive has a directory instead of following it (moby untar)", async () => {
    const c = await ctx();
    const first = await runFileOp(h, [copyCtx("/linkfirst.tar", "/x/", { unpack: true })], { ctx: c });
    const ref = await runFileOp(h, [copyCtx("/dirover.tar", "/x/", { unpack: true })], { ctx: c, base: first });
    expect(await dumpTree(h, ref, "/x/d")).toEqual({ ".": "dir 700 0:0", f: 'file 644 0:0 "x"' });
    expect(await statIn(h, ref, "/tmp/f")).toBeNull();
  });

  it("ADD applies the members' SCHILY.xattr PAX records (moby untar), never overlay's own attributes", async () => {
    requireTool("getfattr", "attr");
    const ref = await runFileOp(h, [copyCtx("/xattr.tar", "/xa/", { unpack: true })], { ctx: await ctx() });
    const view = await h.refs.view(ref);
    try {
      const dump = execFileSync("getfattr", ["-d", "-m", "-", "--absolute-names", join(view.path, "xa/x/tagged.txt")], { encoding: "utf8" });
      expect(dump).toContain('user.tsb="v1"');
      expect(dump).not.toContain("overlay.opaque");
    } finally {
      await view.release();
    }
  });

  it("rejects tar-slip archives and keeps extraction inside the destination", async () => {
    const c = await ctx();
    await expect(runFileOp(h, [copyCtx("/slip.tar", "/x/", { unpack: true })], { ctx: c })).rejects.toMatchObject({ code: "TSB_OPS_FILE_ARCHIVE_ESCAPE", message: expect.stringContaining("../../escaped.txt") });
    await expect(runFileOp(h, [copyCtx("/linkslip.tar", "/x/", { unpack: true })], { ctx: c })).rejects.toMatchObject({ code: "TSB_OPS_FILE_ARCHIVE_ESCAPE" });
    await expect(runFileOp(h, [copyCtx("/hardslip.tar", "/x/", { unpack: true })], { ctx: c })).rejects.toMatchObject({ code: "TSB_OPS_FILE_ARCHIVE_ESCAPE" });
    // A symlink to "/" inside the archive is rooted at the destination, as in moby's chrooted untar.
    const ref = await runFileOp(h, [copyCtx("/chroot.tar", "/x/", { unpack: true })], { ctx: c });
    expect(await dumpTree(h, ref, "/x")).toEqual({ ".": "dir 755 0:0", "abs.txt": 'file 644 0:0 "x"', etc: "link 0:0 -> /", "inside.txt": 'file 644 0:0 "x"' });
    expect(await statIn(h, ref, "/etc/inside.txt")).toBeNull();
    expect(existsSync("/escaped.txt")).toBe(false);
  });

  it("ADD of a downloaded file: mode 0600, mtime kept, --checksum verified", async () => {
    const file = join(dir, "download");
    await writeFile(file, "remote");
    await chmod(file, 0o644);
    await utimes(file, 1_400_000_000, 1_400_000_000);
    const digest = sha256("remote");
    const v = fileVertex([{ action: "copy", src: 1, srcPath: "index.html", dest: "/web/", followSymlinks: false, dirContents: false, allowWildcard: false, allowEmptyWildcard: false, createDestPath: true, http: true, checksum: digest }]);
    const inputs: OpResult[] = [{ kind: "fs", ref: h.base }, { kind: "http", path: file, filename: "index.html", digest }, { kind: "fs", ref: EMPTY_REF }];
    const exec = (inp: OpResult[]) => createFileOp(v, h.deps).exec(inp, { signal: new AbortController().signal, progress: noProgress, vertex: { digest: v.digest, name: "t" } });
    const r = await exec(inputs);
    if (r.kind !== "fs") throw new Error("not fs");
    expect(await dumpTree(h, r.ref, "/web")).toEqual({ ".": "dir 755 0:0", "index.html": 'file 600 0:0 "remote"' });
    expect((await statIn(h, r.ref, "/web/index.html"))!.mtimeMs).toBe(1_400_000_000_000);
    await expect(exec([inputs[0]!, { kind: "http", path: file, filename: "index.html", digest: sha256("other") }, inputs[2]!])).rejects.toMatchObject({ code: "TSB_OPS_COPY_CHECKSUM" });
  });

  it("heredoc documents: mkfile into scratch, then copied with --chmod", async () => {
    const doc = await runFileOp(h, [{ action: "mkfile", path: "/script.sh", mode: 0o644, data: "echo hi\n" }], { base: EMPTY_REF });
    const ref = await runFileOp(h, [{ action: "copy", src: 2, srcPath: "/script.sh", dest: "/usr/local/bin/", chmod: "0755", followSymlinks: false, dirContents: false, allowWildcard: false, allowEmptyWildcard: false, createDestPath: true }], { stage: doc });
    expect(await dumpTree(h, ref, "/usr/local/bin/script.sh")).toEqual({ ".": 'file 755 0:0 "echo hi\\n"' });
  });

  it("WORKDIR mkdir: mode 0755, parents, USER as owner, SOURCE_DATE_EPOCH as time; existing dirs untouched", async () => {
    const ref = await runFileOp(h, [
      { action: "mkdir", path: "/srv/app/data", mode: 0o755, makeParents: true, chown: { user: "app:staff" } },
      { action: "mkdir", path: "/tmp", mode: 0o755, makeParents: true, chown: { user: "app" } },
      { action: "mkdir", path: "/w", mode: 0o755, makeParents: true, chown: { user: "nosuchuser" } },
    ]);
    expect(await dumpTree(h, ref, "/srv")).toEqual({ ".": "dir 755 1000:50", app: "dir 755 1000:50", "app/data": "dir 755 1000:50" });
    expect(await dumpTree(h, ref, "/tmp")).toEqual({ ".": "dir 1777 0:0" });
    // An unknown USER name gives root, as BuildKit does for WORKDIR.
    expect(await dumpTree(h, ref, "/w")).toEqual({ ".": "dir 755 0:0" });
    expect((await statIn(h, ref, "/srv/app/data"))!.mtimeMs).toBe(1_600_000_000_000);
  });

  it("rm removes paths and wildcard matches, never following symlinks", async () => {
    const ref = await runFileOp(h, [
      { action: "rm", path: "/etc/passwd", allowNotFound: false, allowWildcard: false },
      { action: "rm", path: "/bin/ch*", allowNotFound: true, allowWildcard: true },
    ]);
    expect(await statIn(h, ref, "/etc/passwd")).toBeNull();
    expect(await statIn(h, ref, "/bin/chmod")).toBeNull();
    expect((await statIn(h, ref, "/bin/busybox"))!.isFile()).toBe(true);
    await expect(runFileOp(h, [{ action: "rm", path: "/nope", allowNotFound: false, allowWildcard: false }])).rejects.toMatchObject({ code: "TSB_OPS_FILE_NOT_FOUND" });
  });

  it("cache key: context content counts, mtime and owner do not", async () => {
    const { root, ctx: c1 } = await makeContext({ "src/a.go": "a", "src/b.go": "b", "other.txt": "o" });
    const actions = [copyCtx("/src", "/app/"), copyCtx("/*.go", "/app/")];
    const first = await cacheOf(h, actions, c1);
    expect(first.ctxDigest).toMatch(/^sha256:/);
    expect(first.map.deps[0]?.computeDigest).toBeUndefined();
    await utimes(join(root, "src/a.go"), 1_234_567, 1_234_567);
    await writeFile(join(root, "other.txt"), "changed, but not copied");
    const touched = await cacheOf(h, actions, await openContext({ root }));
    expect(touched.ctxDigest).toBe(first.ctxDigest);
    expect(touched.map.opDigest).toBe(first.map.opDigest);
    await writeFile(join(root, "src/a.go"), "a2");
    const changed = await cacheOf(h, actions, await openContext({ root }));
    expect(changed.ctxDigest).not.toBe(first.ctxDigest);
    const other = await cacheOf(h, [copyCtx("/src", "/elsewhere/")], await openContext({ root }));
    expect(other.map.opDigest).not.toBe(first.map.opDigest);
  });

  it("an op aborted half-way discards its snapshot", async () => {
    const ac = new AbortController();
    const { ctx: real } = await makeContext({ "a.txt": "A" });
    // The context aborts the build while the first copy lists its sources: the second action must never run.
    const ctx = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === "list") return async (...args: Parameters<typeof real.list>) => {
          const out = await target.list(...args);
          ac.abort(new Error("stop"));
          return out;
        };
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const before = (await h.snap.list()).length;
    await expect(runFileOp(h, [copyCtx("/a.txt", "/a"), copyCtx("/a.txt", "/b")], { ctx, signal: ac.signal })).rejects.toThrow("stop");
    expect((await h.snap.list()).filter((s) => s.kind === "active")).toEqual([]);
    expect((await h.snap.list()).length).toBe(before);
  });
});
