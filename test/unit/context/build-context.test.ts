import { describe, it, expect, afterAll } from "@jest/globals";
import { chmodSync, chownSync, lstatSync, renameSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { openContext } from "../../../src/context/build-context.js";
import { ContextExcludedError, ContextNotFoundError, ContextRootError } from "../../../src/context/errors.js";
import { makeTree, removeTree, tempDir, type TreeSpec } from "./tree-fixture.js";

const roots: string[] = [];
afterAll(() => roots.forEach(removeTree));
function tree(spec: TreeSpec): string {
  const r = makeTree(spec);
  roots.push(r);
  return r;
}

const BASE: TreeSpec = {
  "src/a.go": "package a",
  "src/b.go": "package b",
  "src/b_test.go": "package b_test",
  "src/sub/c.go": "package c",
  "src/sub/x": "x",
  "docs/readme.md": "# docs",
  "link-to-src": { link: "src" },
  "abs-link": { link: "/src/a.go" },
  "run.sh": { content: "#!/bin/sh", mode: 0o755 },
};

describe("BuildContext.checksum", () => {
  it("is stable across touch and chown, and sensitive to content, mode, link target and new files", async () => {
    const root = tree(BASE);
    const sum = async (path = "") => (await openContext({ root })).checksum({ path, followLinks: true });
    const whole = await sum();
    const file = await sum("src/a.go");
    expect(whole).toMatch(/^sha256:[0-9a-f]{64}$/);

    utimesSync(join(root, "src/a.go"), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const uid = process.getuid?.() === 0 ? 4242 : (process.getuid?.() ?? 0);
    chownSync(join(root, "src/b.go"), uid, uid);
    expect(await sum()).toBe(whole);
    expect(await sum("src/a.go")).toBe(file);

    writeFileSync(join(root, "src/a.go"), "package A");
    const changed = await sum();
    expect(changed).not.toBe(whole);
    expect(await sum("src/a.go")).not.toBe(file);
    writeFileSync(join(root, "src/a.go"), "package a");
    expect(await sum()).toBe(whole);

    chmodSync(join(root, "run.sh"), 0o644);
    expect(await sum()).not.toBe(whole);
    chmodSync(join(root, "run.sh"), 0o755);
    expect(await sum()).toBe(whole);

    unlinkSync(join(root, "link-to-src"));
    symlinkSync("docs", join(root, "link-to-src"));
    expect(await sum()).not.toBe(whole);
    unlinkSync(join(root, "link-to-src"));
    symlinkSync("src", join(root, "link-to-src"));
    expect(await sum()).toBe(whole);

    writeFileSync(join(root, "src/new.go"), "");
    expect(await sum()).not.toBe(whole);
    unlinkSync(join(root, "src/new.go"));
    renameSync(join(root, "src/sub/x"), join(root, "src/sub/y"));
    expect(await sum()).not.toBe(whole);
  });

  it("gives equal trees in different places equal checksums", async () => {
    const a = await openContext({ root: tree(BASE) });
    const b = await openContext({ root: tree(BASE) });
    expect(await a.checksum({ path: "." })).toBe(await b.checksum({ path: "/" }));
    expect(await a.checksum({ path: "src" })).toBe(await b.checksum({ path: "src" }));
    // A directory's checksum covers names: same content under another name differs.
    expect(await a.checksum({ path: "src/a.go" })).not.toBe(await a.checksum({ path: "src/b.go" }));
  });

  it("follows the last symlink only with followLinks", async () => {
    const ctx = await openContext({ root: tree(BASE) });
    const target = await ctx.checksum({ path: "src/a.go" });
    expect(await ctx.checksum({ path: "abs-link", followLinks: true })).toBe(target);
    expect(await ctx.checksum({ path: "abs-link" })).not.toBe(target);
    expect(await ctx.checksum({ path: "link-to-src", followLinks: true })).toBe(await ctx.checksum({ path: "src" }));
    expect(await ctx.checksum({ path: "link-to-src/sub" })).toBe(await ctx.checksum({ path: "src/sub" }));
  });

  it("applies .dockerignore, including exceptions inside excluded directories", async () => {
    const spec: TreeSpec = { ...BASE, "src/sub/keep.txt": "k" };
    const plain = await openContext({ root: tree(spec) });
    const ignoring = await openContext({ root: tree({ ...spec, ".dockerignore": "src/sub\n!src/sub/keep.txt\n**/*.md\n" }) });
    expect(await ignoring.checksum({ path: "src/a.go" })).toBe(await plain.checksum({ path: "src/a.go" }));
    expect(await ignoring.checksum({ path: "src" })).not.toBe(await plain.checksum({ path: "src" }));
    const kept = await ignoring.list({ path: "src/sub" });
    expect(kept[0]!.descendants.map((e) => e.path)).toEqual(["keep.txt"]);
    await expect(ignoring.checksum({ path: "docs/readme.md" })).rejects.toBeInstanceOf(ContextExcludedError);
    await expect(ignoring.checksum({ path: "docs/readme.md" })).rejects.toThrow(/\.dockerignore line 3 \(\*\*\/\*\.md\)/);
    // docs/ is visible (not excluded itself) but now empty
    expect((await ignoring.list({ path: "docs" }))[0]!.descendants).toEqual([]);
  });

  it("applies include and exclude patterns relative to the source", async () => {
    const ctx = await openContext({ root: tree(BASE) });
    const all = await ctx.list({ path: "src" });
    expect(all[0]!.descendants.map((e) => e.path)).toEqual(["a.go", "b.go", "b_test.go", "sub", "sub/c.go", "sub/x"]);
    const noTests = await ctx.list({ path: "src", exclude: ["**/*_test.go", "sub/x"] });
    expect(noTests[0]!.descendants.map((e) => e.path)).toEqual(["a.go", "b.go", "sub", "sub/c.go"]);
    const onlyC = await ctx.list({ path: "src", include: ["sub/c.go"] });
    expect(onlyC[0]!.descendants.map((e) => e.path)).toEqual(["sub", "sub/c.go"]);
    expect(await ctx.checksum({ path: "src", exclude: ["sub/x"] })).not.toBe(await ctx.checksum({ path: "src" }));
    expect(await ctx.checksum({ path: "src", exclude: ["nothing"] })).toBe(await ctx.checksum({ path: "src" }));
  });
});

describe("wildcard selections", () => {
  it("select with Go path.Match per path and checksum the matched set", async () => {
    const ctx = await openContext({ root: tree({ ...BASE, "src/sub/deeper/d.go": "d" }) });
    const sel = async (path: string) => (await ctx.list({ path, wildcard: true })).map((s) => s.source);
    expect(await sel("src/*.go")).toEqual(["src/a.go", "src/b.go", "src/b_test.go"]);
    expect(await sel("/src/[ab].go")).toEqual(["src/a.go", "src/b.go"]);
    expect(await sel("src/*/c.go")).toEqual(["src/sub/c.go"]);
    expect(await sel("src/**/c.go")).toEqual(["src/sub/c.go"]); // ** is just * in COPY
    expect(await sel("s?c")).toEqual(["src"]);
    expect(await sel("*.sh")).toEqual(["run.sh"]);
    expect(await sel("nothing*")).toEqual([]);
    const set = await ctx.checksum({ path: "src/*.go", wildcard: true });
    expect(set).toBe(await ctx.checksum({ path: "src/?.go", wildcard: true }).then(() => set));
    expect(set).not.toBe(await ctx.checksum({ path: "src/[ab].go", wildcard: true }));
    expect(await ctx.checksum({ path: "zz*", wildcard: true })).toBe(await ctx.checksum({ path: "yy*", wildcard: true }));
    // A matched directory brings its subtree.
    const dirs = await ctx.list({ path: "src/su*", wildcard: true });
    expect(dirs[0]!.descendants.map((e) => e.path)).toEqual(["c.go", "deeper", "deeper/d.go", "x"]);
  });

  it("follow matched symlinks with followLinks and skip ignored entries", async () => {
    const ctx = await openContext({ root: tree({ ...BASE, ".dockerignore": "src/b*\n" }) });
    expect((await ctx.list({ path: "src/*.go", wildcard: true })).map((s) => s.source)).toEqual(["src/a.go"]);
    const viaLink = await ctx.list({ path: "abs-*", wildcard: true, followLinks: true });
    expect(viaLink[0]!.root).toMatchObject({ type: "file", contextPath: "src/a.go" });
    const noFollow = await ctx.list({ path: "abs-*", wildcard: true });
    expect(noFollow[0]!.root).toMatchObject({ type: "symlink", linkTarget: "/src/a.go" });
  });
});

describe("list and explainMissing", () => {
  it("lists entries with their stat", async () => {
    const ctx = await openContext({ root: tree(BASE) });
    const [s] = await ctx.list({ path: "run.sh" });
    expect(s!.source).toBe("run.sh");
    expect(s!.root).toMatchObject({ path: "", type: "file", size: 9, contextPath: "run.sh" });
    expect(s!.root.mode & 0o777).toBe(0o755);
    expect(s!.root.absPath).toBe(join(ctx.root, "run.sh"));
  });

  it("explains missing, excluded and outside paths", async () => {
    const root = tree({ ...BASE, ".dockerignore": "# secrets\n*.key\n", "tls.key": "k", "out": { link: "/etc/hostname" }, "up": { link: "../../x" } });
    const ctx = await openContext({ root });
    expect(await ctx.explainMissing("src/a.go")).toMatchObject({ kind: "exists" });
    expect(await ctx.explainMissing("tls.key")).toEqual({
      kind: "excluded",
      message: '"tls.key" is excluded by .dockerignore line 2 (*.key)',
      file: ".dockerignore",
      line: 2,
      pattern: "*.key",
    });
    expect(await ctx.explainMissing("src/a.og")).toMatchObject({ kind: "missing", message: '"src/a.og" does not exist (did you mean "src/a.go"?)' });
    expect((await ctx.explainMissing("../outside.txt")).kind).toBe("outside");
    const out = await ctx.explainMissing("out", { followLinks: true });
    expect(out.kind).toBe("outside");
    expect(out.message).toContain('symlink "out" points to "/etc/hostname"');
    expect((await ctx.explainMissing("up/y", { followLinks: true })).kind).toBe("outside");
    expect(await ctx.explainMissing("*.key", { wildcard: true })).toMatchObject({ kind: "excluded", line: 2 });
    expect(await ctx.explainMissing("*.nope", { wildcard: true })).toMatchObject({ kind: "missing" });
    await expect(ctx.checksum({ path: "out", followLinks: true })).rejects.toBeInstanceOf(ContextNotFoundError);
    await expect(ctx.checksum({ path: "out", followLinks: true })).rejects.toMatchObject({ code: "TSB_CONTEXT_NOT_FOUND" });
    await expect(ctx.list({ path: "missing" })).rejects.toThrow(/"missing": does not exist/);
  });

  it("exposes isIgnored for lint rules", async () => {
    const ctx = await openContext({ root: tree({ "a.txt": "", ".dockerignore": "a.txt\n" }) });
    expect(ctx.ignoreFile).toBe(".dockerignore");
    expect(ctx.isIgnored("a.txt")).toEqual({ ignored: true, file: ".dockerignore", line: 1, pattern: "a.txt" });
  });

  it("rejects a missing or non-directory context root", async () => {
    const root = tree({ f: "" });
    await expect(openContext({ root: join(root, "nope") })).rejects.toBeInstanceOf(ContextRootError);
    await expect(openContext({ root: join(root, "f") })).rejects.toMatchObject({ code: "TSB_CONTEXT_ROOT" });
  });
});

describe("hostile contexts", () => {
  it("survive symlink loops, links out, deep trees, newlines and fifos", async () => {
    const outer = tempDir();
    roots.push(outer);
    makeTree({ secret: "s" }, outer);
    const deep = Array.from({ length: 200 }, () => "d").join("/");
    const root = makeTree(
      {
        "loop-a": { link: "loop-b" },
        "loop-b": { link: "loop-a" },
        "out-abs": { link: "/etc" },
        "out-rel": { link: "../secret" },
        [`${deep}/leaf`]: "deep",
        "name\nwith\nnewlines": "nl",
        "dir\nnl/x": "x",
      },
      join(outer, "ctx"),
    );
    execFileSync("mkfifo", [join(root, "fifo")]);
    const ctx = await openContext({ root });
    // The walk never follows links: loops and links out are hashed as links.
    const sum = await ctx.checksum({ path: "." });
    expect(sum).toMatch(/^sha256:/);
    const names = (await ctx.list({ path: "." }))[0]!.descendants.map((e) => e.path);
    expect(names).toContain("name\nwith\nnewlines");
    expect(names).toContain("dir\nnl/x");
    expect(names).toContain(`${deep}/leaf`);
    expect(names.find((n) => n === "fifo")).toBe("fifo");
    await expect(ctx.checksum({ path: "loop-a", followLinks: true })).rejects.toMatchObject({ code: "TSB_CONTEXT_SYMLINK_LOOP" });
    await expect(ctx.checksum({ path: "out-rel", followLinks: true })).rejects.toMatchObject({ code: "TSB_CONTEXT_NOT_FOUND" });
    await expect(ctx.checksum({ path: "out-abs/passwd", followLinks: true })).rejects.toMatchObject({ code: "TSB_CONTEXT_NOT_FOUND" });
    // ../ and absolute sources resolve inside the context.
    expect(await ctx.checksum({ path: `../../${deep}/leaf` })).toBe(await ctx.checksum({ path: `/${deep}/leaf` }));
    expect((await ctx.list({ path: "name\nwith\nnewlines" }))[0]!.root.size).toBe(2);
    expect(lstatSync(join(root, "out-abs")).isSymbolicLink()).toBe(true);
  });
});
