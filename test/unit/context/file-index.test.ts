import { describe, it, expect, afterAll } from "@jest/globals";
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync, cpSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { openContext } from "../../../src/context/build-context.js";
import { makeTree, removeTree, tempDir, type TreeSpec } from "./tree-fixture.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeTree));
function setup(n = 20): { root: string; indexDir: string } {
  const spec: TreeSpec = {};
  for (let i = 0; i < n; i++) spec[`d${i % 3}/f${i}.txt`] = `content ${i}`;
  const root = makeTree(spec);
  const indexDir = tempDir("tsb-idx-");
  dirs.push(root, indexDir);
  return { root, indexDir };
}
/** A clock far enough after the files' mtimes that the racy-second rule does not apply. */
const later = () => Date.now() + 5000;

/** A build that always goes through the index (the selection memo is tested in selection-memo.test.ts). */
async function build(root: string, indexDir: string, now?: () => number) {
  const ctx = await openContext({ root, indexDir, memo: false, ...(now ? { now } : {}) });
  const digest = await ctx.checksum({ path: "." });
  await ctx.close();
  const { memoHits, ...stats } = ctx.stats;
  expect(memoHits).toBe(0);
  return { digest, stats };
}

/** Change one stored sha256 in the body while keeping the header (whose checksum then no longer matches). */
function tamperBody(text: string): string {
  const nl = text.indexOf("\n");
  return text.slice(0, nl + 1) + text.slice(nl + 1).replace(/[0-9a-f]{64}"/, `${"0".repeat(64)}"`);
}

function indexFile(indexDir: string): string {
  const files = readdirSync(indexDir).filter((n) => n !== "listings");
  expect(files).toHaveLength(1); // no leftover tmp files
  return join(indexDir, files[0]!);
}

describe("persistent context index", () => {
  it("reuses unchanged files from stat alone and rehashes only what changed", async () => {
    const { root, indexDir } = setup();
    const first = await build(root, indexDir, later);
    expect(first.stats).toEqual({ statHits: 0, xxhVerified: 0, sha256Computed: 20 });
    const again = await build(root, indexDir, later);
    expect(again.digest).toBe(first.digest);
    expect(again.stats).toEqual({ statHits: 20, xxhVerified: 0, sha256Computed: 0 });

    writeFileSync(join(root, "d1/f4.txt"), "changed!!");
    const changed = await build(root, indexDir, later);
    expect(changed.digest).not.toBe(first.digest);
    expect(changed.stats).toEqual({ statHits: 19, xxhVerified: 0, sha256Computed: 1 });

    // touch: stat changes, content does not → one xxh64 read, no sha256
    utimesSync(join(root, "d0/f0.txt"), new Date(), new Date(2000, 0, 1));
    const touched = await build(root, indexDir, later);
    expect(touched.digest).toBe(changed.digest);
    expect(touched.stats).toEqual({ statHits: 19, xxhVerified: 1, sha256Computed: 0 });
  });

  it("re-verifies files modified in the index's own second (racy-git rule)", async () => {
    const { root, indexDir } = setup(3);
    const file = join(root, "d0/f0.txt");
    const st = statSync(file);
    // The index is stamped in the same second as the files were written.
    const sameSecond = () => Math.floor(st.mtimeMs / 1000) * 1000 + 999;
    const first = await build(root, indexDir, sameSecond);
    expect(first.stats.sha256Computed).toBe(3);
    // Nothing changed, but every entry is racy: each file is re-read (xxh64), none re-sha256'd.
    const second = await build(root, indexDir, sameSecond);
    expect(second.stats).toEqual({ statHits: 0, xxhVerified: 3, sha256Computed: 0 });

    // Same size, mtime put back to the identical value within the same second: still detected.
    writeFileSync(file, "content X");
    utimesSync(file, st.atime, st.mtime);
    expect(statSync(file).size).toBe(st.size);
    expect(Math.floor(statSync(file).mtimeMs / 1000)).toBe(Math.floor(st.mtimeMs / 1000));
    const third = await build(root, indexDir, sameSecond);
    expect(third.digest).not.toBe(first.digest);
    expect(third.stats.sha256Computed).toBe(1);
  });

  it("discards a corrupt, truncated, tampered or foreign index", async () => {
    const { root, indexDir } = setup(5);
    const good = await build(root, indexDir, later);
    const path = indexFile(indexDir);
    const text = readFileSync(path, "utf8");

    for (const bad of ["garbage", text.slice(0, text.length - 10), tamperBody(text), ""]) {
      writeFileSync(path, bad);
      const r = await build(root, indexDir, later);
      expect(r.digest).toBe(good.digest);
      expect(r.stats).toEqual({ statHits: 0, xxhVerified: 0, sha256Computed: 5 });
    }

    // The same tree copied elsewhere never trusts the other context's entries (different key and root).
    const copy = tempDir();
    dirs.push(copy);
    cpSync(root, copy, { recursive: true });
    const foreign = await build(copy, indexDir, later);
    expect(foreign.digest).toBe(good.digest);
    expect(foreign.stats.sha256Computed).toBe(5);
    expect(readdirSync(indexDir).filter((n) => n !== "listings")).toHaveLength(2);
  });

  it("prunes entries of deleted files after a whole-context walk and leaves no temp files", async () => {
    const { root, indexDir } = setup(4);
    await build(root, indexDir, later);
    unlinkSync(join(root, "d0/f0.txt"));
    await build(root, indexDir, later);
    const text = readFileSync(indexFile(indexDir), "utf8");
    expect(text).not.toContain("d0/f0.txt");
    expect(text).toContain("d1/f1.txt");
  });

  it("works without an index directory", async () => {
    const { root } = setup(2);
    const ctx = await openContext({ root });
    await ctx.checksum({ path: "." });
    await ctx.close();
    expect(ctx.stats.sha256Computed).toBe(2);
  });
});
