import { describe, it, expect, afterAll } from "@jest/globals";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { nodeSafeFs, resolveInContext } from "../../../src/context/safe-path.js";
import { ContextSymlinkLoopError } from "../../../src/context/errors.js";
import { makeTree, removeTree, tempDir } from "./tree-fixture.js";

// A context inside a parent directory holding a "secret" right next to it, so escapes would be visible.
const outer = tempDir();
const root = join(outer, "ctx");
makeTree({ "secret": "outside!" }, outer);
makeTree(
  {
    "etc/passwd": "context passwd",
    "dir/file": "f",
    "dir/up": { link: "../dir/file" },
    "abs-inside": { link: "/dir/file" },
    "abs-outside": { link: "/etc/shadow" },
    "climb": { link: "../../../../secret" },
    "climb-dir": { link: "../.." },
    "loop-a": { link: "loop-b" },
    "loop-b": { link: "loop-a" },
    "self": { link: "self" },
    "chain1": { link: "chain2" },
    "chain2": { link: "dir" },
    "file-as-dir": "x",
  },
  root,
);
const fs = nodeSafeFs(root);
afterAll(() => removeTree(outer));

describe("resolveInContext", () => {
  it.each([
    ["etc/passwd", "etc/passwd"],
    ["/etc/passwd", "etc/passwd"],
    ["../../etc/passwd", "etc/passwd"],
    ["dir/../../../etc/passwd", "etc/passwd"],
    ["./dir//file", "dir/file"],
    ["", ""],
    ["/", ""],
    ["..", ""],
  ])("keeps %j inside the context as %j", async (input, expected) => {
    const r = await resolveInContext(fs, input, true);
    expect(r.contextPath).toBe(expected);
    expect(r.stat).not.toBeNull();
  });

  it("marks paths that climbed above the root", async () => {
    expect((await resolveInContext(fs, "../etc/passwd", true)).escape).toEqual({ via: "dotdot" });
    expect((await resolveInContext(fs, "etc/passwd", true)).escape).toBeUndefined();
  });

  it("resolves absolute and relative symlinks inside the context", async () => {
    expect((await resolveInContext(fs, "abs-inside", true)).contextPath).toBe("dir/file");
    expect((await resolveInContext(fs, "dir/up", true)).contextPath).toBe("dir/file");
    expect((await resolveInContext(fs, "chain1/file", false)).contextPath).toBe("dir/file");
    expect((await resolveInContext(fs, "chain1/file", false)).links).toEqual(["chain1", "chain2"]);
  });

  it("does not follow the last link without followLinks", async () => {
    const r = await resolveInContext(fs, "abs-inside", false);
    expect(r.contextPath).toBe("abs-inside");
    expect(r.stat?.isSymbolicLink()).toBe(true);
  });

  it("clamps links that point outside to the context root", async () => {
    const a = await resolveInContext(fs, "abs-outside", true);
    expect(a.contextPath).toBe("etc/shadow");
    expect(a.stat).toBeNull();
    expect(a.escape).toEqual({ via: "absolute-link", link: "abs-outside", target: "/etc/shadow" });
    const c = await resolveInContext(fs, "climb", true);
    expect(c.contextPath).toBe("secret");
    expect(c.stat).toBeNull(); // the real ../secret exists, but is never reached
    expect(c.escape?.via).toBe("dotdot-link");
    const d = await resolveInContext(fs, "climb-dir/etc/passwd", true);
    expect(d.contextPath).toBe("etc/passwd");
    expect(d.stat).not.toBeNull();
  });

  it("fails with a typed error on symlink loops", async () => {
    for (const p of ["loop-a", "self", "loop-a/x"]) {
      await expect(resolveInContext(fs, p, true)).rejects.toBeInstanceOf(ContextSymlinkLoopError);
    }
    await expect(resolveInContext(fs, "self", true)).rejects.toMatchObject({ code: "TSB_CONTEXT_SYMLINK_LOOP" });
    // Not following the last component: a loop link is just a link.
    expect((await resolveInContext(fs, "self", false)).stat?.isSymbolicLink()).toBe(true);
  });

  it("reports missing paths and files used as directories", async () => {
    const m = await resolveInContext(fs, "nope/deeper", true);
    expect(m).toMatchObject({ contextPath: "nope/deeper", stat: null, notDir: false });
    const n = await resolveInContext(fs, "file-as-dir/x", true);
    expect(n).toMatchObject({ contextPath: "file-as-dir/x", stat: null, notDir: true });
  });

  it("handles very deep trees and names with newlines", async () => {
    const deep = Array.from({ length: 300 }, (_, i) => `d${i % 10}`).join("/");
    mkdirSync(join(root, deep), { recursive: true });
    expect((await resolveInContext(fs, `${deep}/../${deep.split("/").pop()}`, true)).stat?.isDirectory()).toBe(true);
    makeTree({ "new\nline": "n" }, root);
    symlinkSync("new\nline", join(root, "nl-link"));
    expect((await resolveInContext(fs, "nl-link", true)).contextPath).toBe("new\nline");
  });
});
