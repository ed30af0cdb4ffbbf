import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { requireSession } from "../../helpers/session.js";
import { applyLayer, createSnapshotter, exportLayer, type DiffSource, type Snapshotter } from "../../../src/snapshot/index.js";
import { dumpTree, readTar, sh, tmp } from "./tree.js";

requireSession();

const CAP = "0sAQAAAgAgAAAAAAAAAAAAAAAAAAA="; // cap_net_raw, VFS_CAP_REVISION_2

/** Base layer, then a child that modifies, deletes, replaces a dir, hardlinks, chowns, sets xattrs. */
async function buildChain(s: Snapshotter): Promise<void> {
  await s.prepare("base");
  sh(`mkdir -p etc dir/sub keep; echo hello > etc/conf; echo a > dir/sub/a; echo b > dir/b; echo k > keep/k
      echo del > del; ln -s etc/conf link; echo x > keep/x`, await s.mount("base"));
  await s.commit("base");
  await s.prepare("child", "base");
  sh(`echo changed > etc/conf; rm del; rm -rf dir; mkdir dir; echo new > dir/new; chmod 700 keep/k; rm keep/x
      echo h > hl1; ln hl1 hl2; chown 1000:2000 hl1; ln -s /nowhere dangling; mkfifo fifo; mkdir own; chown 33:44 own
      setfattr -n user.test -v hello etc/conf; echo ping > ping; setfattr -n security.capability -v ${CAP} ping`, await s.mount("child"));
  await s.commit("child");
}

function describeDiff(d: DiffSource): string[] {
  return d.entries.map((e) => `${e.kind}:${e.path}`);
}

const EXPECTED_DIFF = [
  "whiteout:del", "entry:dangling", "entry:dir", "opaque:dir", "entry:dir/new", "entry:etc", "entry:etc/conf", "entry:fifo",
  "entry:hl1", "entry:hl2", "entry:keep", "whiteout:keep/x", "entry:keep/k", "entry:own", "entry:ping",
];

async function exportToBuffer(d: DiffSource, opts: Parameters<typeof exportLayer>[2] = {}): Promise<{ buf: Buffer; desc: Awaited<ReturnType<typeof exportLayer>> }> {
  const dir = tmp();
  const file = join(dir, "layer");
  const desc = await exportLayer(d, file, opts);
  const buf = readFileSync(file);
  rmSync(dir, { recursive: true, force: true });
  return { buf, desc };
}

describe.each(["overlay", "copy"] as const)("%s snapshotter", (driver) => {
  const root = tmp();
  let s: Snapshotter;
  beforeAll(async () => {
    s = await createSnapshotter(root, { driver });
    await buildChain(s);
  });
  afterAll(async () => {
    await s.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("reports its driver", () => {
    expect(s.report.driver).toBe(driver);
  });

  it("diff of a committed step is exactly its changes", async () => {
    expect(describeDiff(await s.diff("child"))).toEqual(EXPECTED_DIFF);
    expect(describeDiff(await s.diff("base"))).toEqual(["entry:del", "entry:dir", "entry:dir/b", "entry:dir/sub", "entry:dir/sub/a",
      "entry:etc", "entry:etc/conf", "entry:keep", "entry:keep/k", "entry:keep/x", "entry:link"]);
  });

  it("keeps a file from below that gained a hard link in the layer, with the link", async () => {
    await s.prepare("linked", "base");
    sh("ln keep/k k-link", await s.mount("linked"));
    await s.commit("linked");
    expect(describeDiff(await s.diff("linked"))).toEqual(["entry:k-link", "entry:keep", "entry:keep/k"]);
    await s.remove("linked");
  });

  it("tracks snapshot state and refuses bad transitions", async () => {
    expect((await s.stat("child")).parent).toBe("base");
    expect((await s.list()).map((i) => `${i.key}:${i.kind}`)).toEqual(["base:committed", "child:committed"]);
    await expect(s.mount("child")).rejects.toMatchObject({ code: "TSB_SNAPSHOT_STATE" });
    await expect(s.prepare("x", "missing")).rejects.toMatchObject({ code: "TSB_SNAPSHOT_NOT_FOUND" });
    await expect(s.remove("base")).rejects.toMatchObject({ code: "TSB_SNAPSHOT_IN_USE" });
    await expect(s.prepare("child")).rejects.toMatchObject({ code: "TSB_SNAPSHOT_EXISTS" });
  });

  it("round-trips: diff → tar → apply onto the parent reproduces the merged view", async () => {
    const { buf } = await exportToBuffer(await s.diff("child"));
    await s.view("child-view", "child");
    const view = dumpTree(await s.mount("child-view"), { mtimes: true });
    expect(view.join("\n")).toContain("user.test=0x68656c6c6f");
    // a layer records security.capability only (Docker's exporters): user.test does not come back
    const want = view.map((l) => l.replace(/ user\.test=0x[0-9a-f]+$/, ""));
    expect(want.join("\n")).toContain("security.capability=0x0100000200200000");
    expect(want.join("\n")).toContain("hl1 file:");

    // flat: a plain copy of the parent's tree
    await s.view("base-view", "base");
    const flat = tmp();
    sh(`cp -a "${await s.mount("base-view")}/." "${flat}"`);
    await applyLayer(await import("node:stream").then((m) => m.Readable.from([buf])), { mode: "flat", dir: flat });
    expect(dumpTree(flat, { mtimes: true })).toEqual(want);
    rmSync(flat, { recursive: true, force: true });

    // into a fresh active snapshot without mounting it (overlay: whiteout devices + opaque xattrs in the upperdir)
    await s.prepare("child2", "base");
    const { Readable } = await import("node:stream");
    await applyLayer(Readable.from([buf]), await s.applyTarget("child2"));
    expect(dumpTree(await s.mount("child2"), { mtimes: true })).toEqual(want);
    await s.commit("child2");
    // a flat apply empties an opaque dir in place, so the copy driver records explicit whiteouts instead
    const expected = driver === "overlay" ? EXPECTED_DIFF : EXPECTED_DIFF.flatMap((e) => (e === "opaque:dir" ? ["whiteout:dir/b", "whiteout:dir/sub"] : [e]));
    expect(describeDiff(await s.diff("child2"))).toEqual(expected);
    for (const k of ["child-view", "base-view", "child2"]) {
      await s.unmount(k);
      await s.remove(k);
    }
  });

  it("writes deterministic tar, gzip and zstd bytes with one diffId", async () => {
    const d = await s.diff("child");
    const g1 = await exportToBuffer(d, { compression: "gzip" });
    const g2 = await exportToBuffer(await s.diff("child"), { compression: "gzip" });
    expect(g1.buf.equals(g2.buf)).toBe(true);
    expect(g1.desc.digest).toBe(g2.desc.digest);
    const z1 = await exportToBuffer(d, { compression: "zstd" });
    const z2 = await exportToBuffer(d, { compression: "zstd" });
    expect(z1.buf.equals(z2.buf)).toBe(true);
    const n = await exportToBuffer(d, { compression: "none" });
    expect(n.desc.digest).toBe(n.desc.diffId);
    expect(new Set([g1.desc.diffId, z1.desc.diffId, n.desc.diffId]).size).toBe(1);
    expect(g1.desc.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    expect(z1.desc.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+zstd");
    expect(g1.desc.size).toBe(g1.buf.length);
    expect(z1.buf.subarray(0, 4).toString("hex")).toBe("28b52ffd");

    const items = await readTar(n.buf);
    const byName = new Map(items.map((i) => [i.header.name, i.header]));
    expect(items.map((i) => i.header.name).slice(0, 4)).toEqual([".wh.del", "dangling", "dir/", "dir/.wh..wh..opq"]);
    expect(byName.get("hl2")).toMatchObject({ type: "link", linkname: "hl1" });
    expect(byName.get("hl1")).toMatchObject({ type: "file", uid: 1000, gid: 2000 });
    expect(byName.get("own/")).toMatchObject({ type: "directory", uid: 33, gid: 44 });
    expect(byName.get("dangling")).toMatchObject({ type: "symlink", linkname: "/nowhere" });
    expect(byName.get("fifo")).toMatchObject({ type: "fifo" });
    expect(byName.get("keep/.wh.x")).toMatchObject({ type: "file", size: 0 });
    for (const i of items) {
      expect(i.header.uname).toBe("");
      expect(i.header.gname).toBe("");
    }
    const pax = byName.get("etc/conf")?.pax as Record<string, string> | undefined;
    expect(pax?.["SCHILY.xattr.user.test"]).toBeUndefined();
    expect((byName.get("ping")?.pax as Record<string, string> | undefined)?.["SCHILY.xattr.security.capability"]).toBeDefined();
    expect(Object.keys(pax ?? {}).some((k) => k.includes("overlay"))).toBe(false);
  });

  it("clamps mtimes to SOURCE_DATE_EPOCH", async () => {
    const { buf } = await exportToBuffer(await s.diff("child"), { compression: "none", sourceDateEpoch: 1000 });
    for (const i of await readTar(buf)) expect(i.header.mtime.getTime()).toBeLessThanOrEqual(1000_000);
  });
});

it("copy driver and overlay driver produce the same layer bytes", async () => {
  const roots = [tmp(), tmp()];
  const [o, c] = [await createSnapshotter(roots[0]!, { driver: "overlay" }), await createSnapshotter(roots[1]!, { driver: "copy" })];
  await buildChain(o);
  await buildChain(c);
  const a = await exportToBuffer(await o.diff("child"), { compression: "none", sourceDateEpoch: 1000 });
  const b = await exportToBuffer(await c.diff("child"), { compression: "none", sourceDateEpoch: 1000 });
  expect((await readTar(b.buf)).map((i) => i.header.name)).toEqual((await readTar(a.buf)).map((i) => i.header.name));
  expect(b.desc.diffId).toBe(a.desc.diffId);
  await o.close();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

it("handles a 150-layer chain beyond the lowerdir limit by flattening", async () => {
  const root = tmp();
  const s = await createSnapshotter(root, { driver: "overlay", maxLowers: 40 });
  let parent: string | undefined;
  for (let i = 0; i < 150; i++) {
    const key = `l${i}`;
    await s.prepare(key, parent);
    sh(`echo ${i} > f${i}; rm -f f${i - 1}; mkdir -p d; echo ${i} > d/last`, await s.mount(key));
    await s.commit(key);
    parent = key;
  }
  await s.view("top", "l149");
  const m = await s.mount("top");
  expect(sh("ls; cat d/last", m).split("\n").filter(Boolean)).toEqual(["d", "f149", "149"]);
  expect(describeDiff(await s.diff("l149"))).toEqual(["entry:d", "entry:d/last", "whiteout:f148", "entry:f149"].sort((x, y) =>
    x.startsWith("whiteout") ? -1 : y.startsWith("whiteout") ? 1 : x < y ? -1 : 1));
  await s.close();
  rmSync(root, { recursive: true, force: true });
}, 180_000);
