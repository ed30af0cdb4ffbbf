import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BuildContext } from "../../../src/context/index.js";
import type { CopyAction, FileAction } from "../../../src/graph/index.js";
import type { BuildRef } from "../../../src/cache/index.js";
import { copyCtx, dumpTree, makeContext, openHarness, runFileOp, statIn, STAGE, type Harness } from "./file-harness.js";
import { requireTool } from "../../helpers/base-images.js";

const MTIME = 1_000_000_000;

describe("COPY (file op copy action)", () => {
  let h: Harness;
  let ctx: BuildContext;
  let stage: BuildRef;
  beforeAll(async () => {
    h = await openHarness();
    ctx = (
      await makeContext(
        {
          "a.txt": { content: "A", mtime: MTIME },
          "b.txt": "B",
          "secret.txt": "S",
          "src/main.go": "package main",
          "src/readme.md": "r",
          "src/util/u.go": "u",
          "bin/tool": { content: "#!", mode: 0o755 },
          "link-to-a": { link: "a.txt" },
          "evil": { link: "/etc/passwd" },
          "tree/evil": { link: "/etc/passwd" },
          "tree/up": { link: "../../../../../../" },
          "tree/f": "f",
          "hl/one": "H",
          "hl/two": { hardlinkOf: "hl/one" },
        },
        "secret.txt\n",
      )
    ).ctx;
    stage = await runFileOp(h, [
      { action: "mkdir", path: "/home/app/data", mode: 0o750, makeParents: true, chown: { user: "1000", group: "1000" } },
      { action: "mkfile", path: "/home/app/data/f", mode: 0o600, data: "stage", chown: { user: "app" } },
    ]);
  });
  afterAll(async () => {
    await h?.close();
  });

  const cases: { name: string; actions: FileAction[]; under: string; want: Record<string, string> }[] = [
    { name: "file to file", actions: [copyCtx("/a.txt", "/out/f")], under: "/out", want: { ".": "dir 755 0:0", f: 'file 644 0:0 "A"' } },
    { name: "file into dir/", actions: [copyCtx("/a.txt", "/out/")], under: "/out", want: { ".": "dir 755 0:0", "a.txt": 'file 644 0:0 "A"' } },
    {
      name: "directory contents",
      actions: [copyCtx("/src", "/out")],
      under: "/out",
      want: { ".": "dir 755 0:0", "main.go": 'file 644 0:0 "package main"', "readme.md": 'file 644 0:0 "r"', util: "dir 755 0:0", "util/u.go": 'file 644 0:0 "u"' },
    },
    {
      name: "wildcard (ignored files never match)",
      actions: [copyCtx("/*.txt", "/out/")],
      under: "/out",
      want: { ".": "dir 755 0:0", "a.txt": 'file 644 0:0 "A"', "b.txt": 'file 644 0:0 "B"' },
    },
    {
      name: "several sources into a directory",
      actions: [copyCtx("/a.txt", "/out/"), copyCtx("/bin/tool", "/out/")],
      under: "/out",
      want: { ".": "dir 755 0:0", "a.txt": 'file 644 0:0 "A"', tool: 'file 755 0:0 "#!"' },
    },
    {
      name: "--chown by id (created parents too)",
      actions: [copyCtx("/a.txt", "/new/deep/f", { chown: { user: "1000", group: "50" } })],
      under: "/new",
      want: { ".": "dir 755 1000:50", deep: "dir 755 1000:50", "deep/f": 'file 644 1000:50 "A"' },
    },
    { name: "--chown by name", actions: [copyCtx("/a.txt", "/out/", { chown: { user: "app", group: "staff" } })], under: "/out", want: { ".": "dir 755 1000:50", "a.txt": 'file 644 1000:50 "A"' } },
    { name: "--chown user name only (primary group)", actions: [copyCtx("/a.txt", "/out/", { chown: { user: "app" } })], under: "/out", want: { ".": "dir 755 1000:1000", "a.txt": 'file 644 1000:1000 "A"' } },
    { name: "--chmod octal (not on created parents)", actions: [copyCtx("/a.txt", "/out/", { chmod: "0700" })], under: "/out", want: { ".": "dir 755 0:0", "a.txt": 'file 700 0:0 "A"' } },
    { name: "--chmod symbolic", actions: [copyCtx("/a.txt", "/out/", { chmod: "u+x,g-r" })], under: "/out", want: { ".": "dir 755 0:0", "a.txt": 'file 704 0:0 "A"' } },
    {
      // X counts only with "+" (dchapes-mode, as BuildKit): `a=rX` would drop every x bit.
      name: "--chmod a=r,a+X on a tree",
      actions: [copyCtx("/bin", "/out", { chmod: "a=r,a+X" }), copyCtx("/src/util", "/out/util", { chmod: "a=r,a+X" })],
      under: "/out",
      want: { ".": "dir 755 0:0", tool: 'file 555 0:0 "#!"', util: "dir 755 0:0", "util/u.go": 'file 444 0:0 "u"' },
    },
    {
      name: "--exclude",
      actions: [copyCtx("/src", "/out", { excludePatterns: ["*.md", "util"] })],
      under: "/out",
      want: { ".": "dir 755 0:0", "main.go": 'file 644 0:0 "package main"' },
    },
    {
      name: "--parents from the context root",
      actions: [copyCtx("/", "/out/", { includePatterns: ["src/util/u.go"], parents: true })],
      under: "/out",
      want: { ".": "dir 755 0:0", src: "dir 755 0:0", "src/util": "dir 755 0:0", "src/util/u.go": 'file 644 0:0 "u"' },
    },
    {
      name: "--parents with a ./ pivot and a wildcard",
      actions: [copyCtx("/src", "/out/", { includePatterns: ["*/*.go"], parents: true })],
      under: "/out",
      want: { ".": "dir 755 0:0", util: "dir 755 0:0", "util/u.go": 'file 644 0:0 "u"' },
    },
    {
      name: "symlinks inside a tree stay symlinks (hostile targets are just data)",
      actions: [copyCtx("/tree", "/out")],
      under: "/out",
      want: { ".": "dir 755 0:0", evil: "link 0:0 -> /etc/passwd", f: 'file 644 0:0 "f"', up: "link 0:0 -> ../../../../../../" },
    },
    { name: "the source root symlink is followed, named after the link", actions: [copyCtx("/link-to-a", "/out/")], under: "/out", want: { ".": "dir 755 0:0", "link-to-a": 'file 644 0:0 "A"' } },
    {
      name: "COPY --from a stage keeps owners and modes",
      actions: [{ action: "copy", src: STAGE, srcPath: "/home/app", dest: "/out", followSymlinks: true, dirContents: true, allowWildcard: true, allowEmptyWildcard: true, createDestPath: true }],
      under: "/out",
      want: { ".": "dir 755 0:0", data: "dir 750 1000:1000", "data/f": 'file 600 1000:1000 "stage"' },
    },
    {
      name: "a directory copied onto an existing one merges",
      actions: [copyCtx("/src/util", "/etc")],
      under: "/etc",
      want: { ".": "dir 755 0:0", group: expect.stringMatching(/^file 644 0:0 "root/) as unknown as string, passwd: expect.stringMatching(/^file 644 0:0 "root/) as unknown as string, "u.go": 'file 644 0:0 "u"' },
    },
  ];

  it.each(cases)("$name", async ({ actions, under, want }) => {
    const ref = await runFileOp(h, actions, { ctx, stage });
    expect(await dumpTree(h, ref, under)).toEqual(want);
  });

  it("replaces an existing file and keeps the source mtime", async () => {
    const ref = await runFileOp(h, [copyCtx("/a.txt", "/etc/passwd")], { ctx });
    expect(await dumpTree(h, ref, "/etc/passwd")).toEqual({ ".": 'file 644 0:0 "A"' });
    expect((await statIn(h, ref, "/etc/passwd"))!.mtimeMs).toBe(MTIME * 1000);
  });

  it("gives context directories with copied entries the build time, as Docker's file sync does; empty ones keep theirs", async () => {
    const dirs = (
      await makeContext({
        "m/sub/f": "x",
        "m/sub": { dir: true, mtime: MTIME },
        "m/empty": { dir: true, mtime: MTIME },
        m: { dir: true, mtime: MTIME },
      })
    ).ctx;
    const started = Date.now();
    const ref = await runFileOp(h, [copyCtx("/m", "/out")], { ctx: dirs });
    expect((await statIn(h, ref, "/out/sub"))!.mtimeMs).toBeGreaterThanOrEqual(started - 1000);
    expect((await statIn(h, ref, "/out/empty"))!.mtimeMs).toBe(MTIME * 1000);
    await dirs.close();
  });

  it("leaves the destination root directory's own mtime (build time), even for an empty source directory", async () => {
    const dirs = (await makeContext({ empty: { dir: true, mtime: MTIME }, "full/f": { content: "x", mtime: MTIME }, full: { dir: true, mtime: MTIME } })).ctx;
    const started = Date.now();
    const ref = await runFileOp(h, [copyCtx("/empty", "/e1"), copyCtx("/empty", "/e2/"), copyCtx("/full", "/etc/")], { ctx: dirs });
    for (const p of ["/e1", "/e2", "/etc"]) expect((await statIn(h, ref, p))!.mtimeMs).toBeGreaterThanOrEqual(started - 1000);
    expect((await statIn(h, ref, "/etc/f"))!.mtimeMs).toBe(MTIME * 1000);
    await dirs.close();
  });

  it("keeps hard links within one copy", async () => {
    const ref = await runFileOp(h, [copyCtx("/hl", "/out")], { ctx });
    const one = await statIn(h, ref, "/out/one");
    const two = await statIn(h, ref, "/out/two");
    expect(one!.ino).toBe(two!.ino);
    expect(one!.nlink).toBe(2);
  });

  it("copies the sources' extended attributes after --chown (fsutil copyXAttrs): a capability survives", async () => {
    requireTool("setfattr", "attr");
    const w = await h.refs.prepare(h.base);
    await mkdir(join(w.path, "src"), { recursive: true });
    await writeFile(join(w.path, "src/ping"), "p");
    await writeFile(join(w.path, "src/plain"), "q");
    execFileSync("setfattr", ["-n", "security.capability", "-v", "0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=", join(w.path, "src/ping")]);
    execFileSync("setfattr", ["-n", "user.note", "-v", "kept", join(w.path, "src/ping")]);
    const stage = await w.commit();
    const from = (src: string, dest: string, extra = {}): FileAction => ({ ...(copyCtx(src, dest, extra) as CopyAction), src: STAGE });
    const ref = await runFileOp(h, [from("/src", "/copied/"), from("/src/ping", "/owned", { chown: { user: "1000", group: "50" } })], { ctx, stage });
    const view = await h.refs.view(ref);
    try {
      const attrs = (p: string): string => execFileSync("getfattr", ["-d", "-m", "-", "-e", "base64", "--absolute-names", join(view.path, p)], { encoding: "utf8" });
      expect(attrs("copied/ping")).toContain("security.capability=0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=");
      expect(attrs("copied/ping")).toContain("user.note=0sa2VwdA==");
      expect(attrs("owned")).toContain("security.capability=0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=");
      expect(attrs("copied/plain")).not.toContain("security.capability");
    } finally {
      await view.release();
    }
  });

  it("resolves image symlinks in the destination inside the rootfs", async () => {
    const w = await h.refs.prepare(h.base);
    await symlink("/etc", join(w.path, "app"));
    await symlink("../../../../../../../tsbuild-escape-test", join(w.path, "up"));
    const base = await w.commit();
    const ref = await runFileOp(h, [copyCtx("/a.txt", "/app/x.txt"), copyCtx("/b.txt", "/up/y.txt")], { ctx, base });
    expect(await dumpTree(h, ref, "/etc/x.txt")).toEqual({ ".": 'file 644 0:0 "A"' });
    expect(await dumpTree(h, ref, "/tsbuild-escape-test")).toEqual({ ".": "dir 755 0:0", "y.txt": 'file 644 0:0 "B"' });
    expect(existsSync("/etc/x.txt")).toBe(false);
    expect(existsSync("/tsbuild-escape-test")).toBe(false);
  });

  it("refuses a file where a directory is copied, and a directory where a file is", async () => {
    const w = await h.refs.prepare(h.base);
    await mkdir(join(w.path, "out/a.txt"), { recursive: true });
    await writeFile(join(w.path, "out/util"), "file");
    const base = await w.commit();
    await expect(runFileOp(h, [copyCtx("/a.txt", "/out/")], { ctx, base })).rejects.toMatchObject({ code: "TSB_OPS_COPY_DEST", message: expect.stringContaining("/out/a.txt") });
    await expect(runFileOp(h, [copyCtx("/src", "/out/")], { ctx, base })).rejects.toMatchObject({ code: "TSB_OPS_COPY_DEST", message: "cannot copy to non-directory: /out/util" });
  });

  it("several sources need a directory destination", async () => {
    await expect(runFileOp(h, [copyCtx("/a.txt", "/out"), copyCtx("/b.txt", "/out")], { ctx })).rejects.toMatchObject({ code: "TSB_OPS_COPY_DEST" });
    await expect(runFileOp(h, [copyCtx("/*.txt", "/out")], { ctx })).rejects.toMatchObject({ code: "TSB_OPS_COPY_DEST", hint: expect.stringContaining("slash") });
  });

  it("explains a missing source: missing, excluded by .dockerignore, outside the context, empty wildcard", async () => {
    await expect(runFileOp(h, [copyCtx("/nope.txt", "/out/")], { ctx })).rejects.toMatchObject({ code: "TSB_CONTEXT_NOT_FOUND", message: expect.stringContaining("does not exist") });
    await expect(runFileOp(h, [copyCtx("/secret.txt", "/out/")], { ctx })).rejects.toMatchObject({ code: "TSB_CONTEXT_EXCLUDED", message: expect.stringContaining(".dockerignore line 1") });
    await expect(runFileOp(h, [copyCtx("/evil", "/out/")], { ctx })).rejects.toMatchObject({ code: "TSB_CONTEXT_NOT_FOUND", message: expect.stringContaining("outside") });
    await expect(runFileOp(h, [copyCtx("/secret*", "/out/", { allowEmptyWildcard: false })], { ctx })).rejects.toMatchObject({
      code: "TSB_OPS_COPY_NOT_FOUND",
      message: expect.stringContaining(".dockerignore line 1"),
    });
    // The Dockerfile frontend allows empty wildcards (BuildKit): nothing is copied, no error.
    const ref = await runFileOp(h, [copyCtx("/nothing*", "/out/")], { ctx });
    expect(await statIn(h, ref, "/out")).toBeNull();
  });

  it("resolves --chown names as Docker 20.10: an unknown user is 0:0, an unknown group keeps the user's gid, an empty group is 0", async () => {
    const ref = await runFileOp(h, [
      copyCtx("/a.txt", "/ghost", { chown: { user: "ghost" } }),
      copyCtx("/a.txt", "/ghosts", { chown: { user: "app", group: "ghosts" } }),
      copyCtx("/a.txt", "/empty-group", { chown: { user: "app", group: "" } }),
      copyCtx("/a.txt", "/ghost-staff", { chown: { user: "ghost", group: "staff" } }),
    ], { ctx });
    const owner = async (p: string): Promise<string> => {
      const st = (await statIn(h, ref, p))!;
      return `${st.uid}:${st.gid}`;
    };
    expect([await owner("/ghost"), await owner("/ghosts"), await owner("/empty-group"), await owner("/ghost-staff")]).toEqual(["0:0", "1000:1000", "1000:0", "0:50"]);
  });
});
