import { describe, it, expect, afterAll } from "@jest/globals";
import { chmodSync, lstatSync, readdirSync, renameSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openContext } from "../../../src/context/build-context.js";
import { loadSelectionFiles } from "../../../src/context/selection-memo.js";
import type { Selector } from "../../../src/context/types.js";
import { makeTree, removeTree, tempDir, type TreeSpec } from "./tree-fixture.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeTree));

function setup(extra: TreeSpec = {}): { root: string; indexDir: string } {
  const spec: TreeSpec = { "a/one.txt": "one", "a/two.txt": "two", "b/c/three.txt": "three", "b/link": { link: "../a/one.txt" }, ...extra };
  const root = makeTree(spec);
  const indexDir = tempDir("tsb-memo-");
  dirs.push(root, indexDir);
  return { root, indexDir };
}

/** A clock far enough after the files' mtimes that the racy-second rule does not apply. */
const later = () => Date.now() + 5000;

async function sum(root: string, indexDir: string, sel: Selector = { path: "." }, opts: { now?: () => number; memo?: boolean } = {}) {
  const ctx = await openContext({ root, indexDir, now: opts.now ?? later, ...(opts.memo === false ? { memo: false } : {}) });
  const digest = await ctx.checksum(sel);
  await ctx.close();
  return { digest, stats: ctx.stats };
}

/** The checksum computed the full way (no memo, no index): what every memoized value must equal. */
async function fresh(root: string, sel: Selector = { path: "." }): Promise<string> {
  const ctx = await openContext({ root, memo: false });
  return ctx.checksum(sel);
}

describe("memoized selection checksums", () => {
  it("hits when nothing changed, with the checksum computed the old way", async () => {
    const { root, indexDir } = setup();
    const first = await sum(root, indexDir);
    expect(first.stats.memoHits).toBe(0);
    expect(first.digest).toBe(await fresh(root));
    const again = await sum(root, indexDir);
    expect(again.digest).toBe(first.digest);
    expect(again.stats).toEqual({ statHits: 0, xxhVerified: 0, sha256Computed: 0, memoHits: 1 });
    // Selectors with wildcards, include/exclude and links are memoized each on their own.
    for (const sel of [{ path: "a/*.txt", wildcard: true }, { path: "b", exclude: ["c"] }, { path: "b/link", followLinks: true }] as Selector[]) {
      const s1 = await sum(root, indexDir, sel);
      const s2 = await sum(root, indexDir, sel);
      expect(s1.stats.memoHits).toBe(0);
      expect(s2.stats.memoHits).toBe(1);
      expect(s2.digest).toBe(await fresh(root, sel));
    }
  });

  it("maxHashedEntries: answers from the memo, and fails instead of hashing a bigger selection that changed", async () => {
    const { root, indexDir } = setup();
    const probe = async (maxHashedEntries = 3) => {
      const ctx = await openContext({ root, indexDir, now: later, maxHashedEntries });
      try {
        return await ctx.checksum({ path: "." });
      } finally {
        await ctx.close();
      }
    };
    await expect(probe()).rejects.toMatchObject({ code: "TSB_CONTEXT_NOT_MEMOIZED" }); // nothing memoized yet
    const first = await sum(root, indexDir);
    expect(await probe()).toBe(first.digest);
    writeFileSync(join(root, "a/one.txt"), "changed");
    await expect(probe()).rejects.toMatchObject({ code: "TSB_CONTEXT_NOT_MEMOIZED", name: "ContextNotMemoizedError" });
    // The probe hashed nothing: the next full checksum still finds the file changed and hashes it once.
    const next = await sum(root, indexDir);
    expect(next.stats.sha256Computed).toBe(1);
    expect(next.digest).toBe(await fresh(root));
    // A selection within the limit is hashed as usual.
    writeFileSync(join(root, "a/one.txt"), "changed again");
    expect(await probe(100)).toBe(await fresh(root));
  });

  it("a directory lister (one call per directory) sees what Node's readdir + lstat see: same checksums, same memo", async () => {
    const { root, indexDir } = setup({ "d/deep/x.txt": "x", "d/.hidden": "h", "e/empty/": null });
    const calls: string[] = [];
    // A lister built on Node's own calls, so the test pins FsView's use of it (the co-process's values are
    // compared with Node's in test/unit/snapshot/fsd.sandbox.test.ts).
    const lister = (abs: string) => {
      calls.push(abs);
      return Promise.resolve(readdirSync(abs).map((name) => ({ name, stat: lstatSync(join(abs, name)) })));
    };
    const failing = () => Promise.reject(new Error("co-process gone"));
    const plain = await sum(root, indexDir);
    const open = async (l: typeof lister | typeof failing) => {
      const ctx = await openContext({ root, indexDir, now: later, lister: l });
      try {
        return { digest: await ctx.checksum({ path: "." }), stats: ctx.stats };
      } finally {
        await ctx.close();
      }
    };
    const listed = await open(lister);
    expect(listed.digest).toBe(plain.digest);
    expect(listed.stats.memoHits).toBe(1); // the walk's fingerprint is the one the Node walk memoized
    expect(calls.length).toBeGreaterThan(3);
    expect((await open(failing)).digest).toBe(plain.digest); // a failing lister falls back to Node's calls
    for (const sel of [{ path: "d", exclude: ["deep"] }, { path: "*/*.txt", wildcard: true }] as Selector[]) {
      const ctx = await openContext({ root, memo: false, lister });
      expect(await ctx.checksum(sel)).toBe(await fresh(root, sel));
    }
  });

  it("misses on a content change with the same size and mtime within the racy second", async () => {
    const { root, indexDir } = setup();
    const file = join(root, "a/one.txt");
    const st = statSync(file);
    // The context is opened in the second the files were written: no memo may be stored.
    const sameSecond = () => Math.floor(st.mtimeMs / 1000) * 1000 + 999;
    const first = await sum(root, indexDir, { path: "." }, { now: sameSecond });
    // Nothing changed, but an unchanged stat cannot vouch for a file written in that second: no memo was stored.
    // (A same-tick rewrite keeps even ctime; it cannot be made from a test, so this checks the rule itself.)
    const unchanged = await sum(root, indexDir, { path: "." }, { now: sameSecond });
    expect(unchanged).toEqual({ digest: first.digest, stats: { statHits: 0, xxhVerified: 3, sha256Computed: 0, memoHits: 0 } });
    writeFileSync(file, "ONE");
    utimesSync(file, st.atime, st.mtime);
    expect(statSync(file).size).toBe(st.size);
    const second = await sum(root, indexDir, { path: "." }, { now: sameSecond });
    expect(second.stats.memoHits).toBe(0);
    expect(second.digest).not.toBe(first.digest);
    expect(second.digest).toBe(await fresh(root));
  });

  it("misses on add, remove, rename, chmod, content and link changes", async () => {
    const { root, indexDir } = setup();
    const changes: [string, () => void][] = [
      ["add", () => writeFileSync(join(root, "a/new.txt"), "new")],
      ["remove", () => unlinkSync(join(root, "a/two.txt"))],
      ["rename", () => renameSync(join(root, "a/one.txt"), join(root, "a/uno.txt"))],
      ["chmod file", () => chmodSync(join(root, "a/uno.txt"), 0o600)],
      ["chmod dir", () => chmodSync(join(root, "b/c"), 0o700)],
      ["content", () => writeFileSync(join(root, "b/c/three.txt"), "THREE, longer")],
      ["relink", () => (unlinkSync(join(root, "b/link")), symlinkSync("../a/new.txt", join(root, "b/link")))],
    ];
    let prev = (await sum(root, indexDir)).digest;
    expect((await sum(root, indexDir)).stats.memoHits).toBe(1);
    for (const [what, change] of changes) {
      change();
      const r = await sum(root, indexDir);
      expect([what, r.stats.memoHits]).toEqual([what, 0]);
      expect([what, r.digest === prev]).toEqual([what, false]);
      expect([what, r.digest]).toEqual([what, await fresh(root)]);
      expect([what, (await sum(root, indexDir)).stats.memoHits]).toEqual([what, 1]);
      prev = r.digest;
    }
  });

  it("depends on the ignore file and keeps the index's entries when it hits", async () => {
    const { root, indexDir } = setup();
    const first = await sum(root, indexDir);
    expect((await sum(root, indexDir)).stats.memoHits).toBe(1);
    // That hit did not prune the index: without the memo, every file is still vouched for by its stat.
    const viaIndex = await sum(root, indexDir, { path: "." }, { memo: false });
    expect(viaIndex).toEqual({ digest: first.digest, stats: { statHits: 3, xxhVerified: 0, sha256Computed: 0, memoHits: 0 } });
    writeFileSync(join(root, ".dockerignore"), "b\n");
    const ignored = await sum(root, indexDir);
    expect(ignored.stats.memoHits).toBe(0);
    expect(ignored.digest).not.toBe(first.digest);
    expect(ignored.digest).toBe(await fresh(root));
    unlinkSync(join(root, ".dockerignore"));
    const back = await sum(root, indexDir);
    expect(back).toEqual({ digest: first.digest, stats: { statHits: 0, xxhVerified: 0, sha256Computed: 0, memoHits: 1 } });
  });

  it("stores each computed selection's entry digests for --explain", async () => {
    const { root, indexDir } = setup();
    const ctx = await openContext({ root, indexDir, now: later });
    const a = await ctx.checksum({ path: "a" });
    const expected = await ctx.entryDigests({ path: "a" });
    await ctx.close();
    const files = await loadSelectionFiles(indexDir, [a]);
    expect(files).toEqual({ a: "dir 755", "a/one.txt": expected.get("a/one.txt")!.slice(7, 23), "a/two.txt": expected.get("a/two.txt")!.slice(7, 23) });
    expect(await loadSelectionFiles(indexDir, [a, `sha256:${"0".repeat(64)}`])).toBeUndefined();
    expect(readdirSync(join(indexDir, "listings"))).toHaveLength(1);
  });
});
