/**
 * Applying a layer on top of a parent: parents the layer does not list keep the lower layer's metadata, hardlinks
 * may point at files of lower layers, and nothing is ever written through a lower layer's symlink.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { requireSession } from "../../helpers/session.js";
import { applyLayer, createSnapshotter, type Snapshotter } from "../../../src/snapshot/index.js";
import { dumpTree, makeTar, sh, tmp } from "./tree.js";

requireSession();

const outside = tmp("tsb-outside-");
writeFileSync(join(outside, "victim"), "original");
afterAll(() => rmSync(outside, { recursive: true, force: true }));

const BASE = `mkdir -p usr/share/doc; echo data > usr/share/orig; chown 7:8 usr/share; chmod 750 usr/share
  setfattr -n user.k -v v usr/share; touch -d @1000000 usr/share; chmod 711 usr; touch -d @2000000 usr
  ln -s ${outside} evil; ln -s usr/share share`;

const LAYER = [
  { header: { name: "usr/share/doc/new", type: "file" as const }, body: "new" },
  { header: { name: "hl", type: "link" as const, linkname: "usr/share/orig" } },
  { header: { name: "usr/share/doc/.wh.ghost", type: "file" as const } },
];

function untouched(): void {
  expect(readdirSync(outside)).toEqual(["victim"]);
  expect(readFileSync(join(outside, "victim"), "utf8")).toBe("original");
}

describe.each(["overlay", "copy"] as const)("%s target", (driver) => {
  const root = tmp();
  let s: Snapshotter;
  let n = 0;
  beforeAll(async () => {
    s = await createSnapshotter(root, { driver });
    await s.prepare("base");
    sh(BASE, await s.mount("base"));
    await s.commit("base");
  });
  afterAll(async () => {
    await s.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function applyOnBase(entries: Parameters<typeof makeTar>[0]): Promise<{ key: string; run: Promise<unknown> }> {
    const key = `k${n++}`;
    await s.prepare(key, "base");
    const run = applyLayer(Readable.from([await makeTar(entries)]), await s.applyTarget(key));
    return { key, run };
  }

  it("keeps the lower metadata of unlisted parents and links to lower files", async () => {
    const { key, run } = await applyOnBase(LAYER);
    await run;
    const m = await s.mount(key);
    const share = lstatSync(join(m, "usr/share"));
    expect([share.mode & 0o7777, share.uid, share.gid, share.mtimeMs]).toEqual([0o750, 7, 8, 1_000_000_000]);
    const usr = lstatSync(join(m, "usr"));
    expect([usr.mode & 0o7777, usr.mtimeMs]).toEqual([0o711, 2_000_000_000]);
    expect(sh(`getfattr --only-values -n user.k "${join(m, "usr/share")}"`)).toBe("v");
    expect(readFileSync(join(m, "hl"), "utf8")).toBe("data\n");
    expect(lstatSync(join(m, "hl")).ino).toBe(lstatSync(join(m, "usr/share/orig")).ino);
    // the merged view equals a plain extraction onto a copy of the parent's tree
    const flat = tmp();
    await s.view(`${key}-base`, "base");
    sh(`cp -a "${await s.mount(`${key}-base`)}/." "${flat}"`);
    await applyLayer(Readable.from([await makeTar(LAYER)]), { mode: "flat", dir: flat });
    expect(dumpTree(m, { mtimes: true })).toEqual(dumpTree(flat, { mtimes: true }));
    rmSync(flat, { recursive: true, force: true });
    await s.unmount(key);
    await s.commit(key);
    const d = (await s.diff(key)).entries.map((e) => `${e.kind}:${e.path}`);
    expect(d).toContain("entry:usr/share/doc/new");
    expect(d).toContain("entry:hl");
    expect(d.filter((e) => e.startsWith("whiteout"))).toEqual([]); // a whiteout of nothing is no change
  });

  it.each([
    ["an entry below a lower symlink to outside", [{ header: { name: "evil/victim", type: "file" as const }, body: "pwned" }], "TSB_LAYER_SYMLINK"],
    ["a hardlink through a lower symlink", [{ header: { name: "h", type: "link" as const, linkname: "evil/victim" } }], "TSB_LAYER_SYMLINK"],
    ["an entry below a lower symlink inside", [{ header: { name: "share/x", type: "file" as const }, body: "x" }], "TSB_LAYER_SYMLINK"],
    ["a hardlink leaving the root", [{ header: { name: "h", type: "link" as const, linkname: "../../victim" } }], "TSB_LAYER_PATH"],
    ["a hardlink to a path whited out by the layer", [{ header: { name: "usr/share/.wh.orig", type: "file" as const } }, { header: { name: "h", type: "link" as const, linkname: "usr/share/orig" } }], "TSB_LAYER_HARDLINK"],
    ["a hardlink to a lower directory", [{ header: { name: "h", type: "link" as const, linkname: "usr/share" } }], "TSB_LAYER_HARDLINK"],
  ])("refuses %s", async (_what, entries, code) => {
    const { key, run } = await applyOnBase(entries);
    await expect(run).rejects.toMatchObject({ code });
    untouched();
    await s.remove(key);
  });
});

it("flat targets still create unknown parents 0755 root:root", async () => {
  const dir = tmp();
  mkdirSync(join(dir, "root"));
  await applyLayer(Readable.from([await makeTar([{ header: { name: "a/b/c", type: "file" }, body: "c" }])]), { mode: "flat", dir: join(dir, "root") });
  const st = lstatSync(join(dir, "root/a/b"));
  expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o755, 0, 0]);
  rmSync(dir, { recursive: true, force: true });
});
