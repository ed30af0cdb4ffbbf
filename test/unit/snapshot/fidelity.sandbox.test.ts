/**
 * Diff fidelity as Docker 20.10's overlay2 layers: whatever was copied up is in the layer (a directory whose child
 * came and went, a chmod undone), parents of changes go in with the new metadata, whiteouts of nothing are dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { requireSession } from "../../helpers/session.js";
import { createSnapshotter, exportLayer, type Snapshotter } from "../../../src/snapshot/index.js";
import { readTar, sh, tmp } from "./tree.js";

requireSession();

const BASE = `mkdir -p etc/deep dev var/log opt/a/b; echo base > etc/base; echo conf > etc/deep/conf; echo l > var/log/l
  echo x > opt/a/b/x; chmod 755 etc var; touch -d @1000000 etc/base`;

/** Each case: shell run in the child, then the diff it must give (kind:path). */
const CASES: ReadonlyArray<readonly [string, string, readonly string[]]> = [
  ["a file created and removed again (RUN scratch)", "touch etc/tmpfile; rm etc/tmpfile", ["entry:etc"]],
  ["a dir created and removed in an existing dir", "mkdir -p dev/pts var/log/stub; rmdir dev/pts var/log/stub", ["entry:dev", "entry:var", "entry:var/log"]],
  ["a no-op chmod (copy-up without change)", "chmod 644 etc/base; chmod 755 etc", ["entry:etc", "entry:etc/base"]],
  ["nothing touched", "cat etc/base > /dev/null", []],
  ["a changed file brings its parents", "echo new > etc/deep/conf", ["entry:etc", "entry:etc/deep", "entry:etc/deep/conf"]],
  ["a new file deep down brings unchanged parents", "echo y > opt/a/b/y", ["entry:opt", "entry:opt/a", "entry:opt/a/b", "entry:opt/a/b/y"]],
  ["a chmod of a directory only", "chmod 700 var", ["entry:var"]],
  ["a chown of a directory only", "chown 5:6 var/log", ["entry:var", "entry:var/log"]],
  ["an xattr on a directory only", "setfattr -n user.k -v v opt/a", ["entry:opt", "entry:opt/a"]],
  ["a touched file", "touch etc/base", ["entry:etc", "entry:etc/base"]],
  ["a file created and removed in a new dir", "mkdir -p new/sub; touch new/sub/f; rm new/sub/f", ["entry:new", "entry:new/sub"]],
  ["a removed file", "rm var/log/l", ["entry:var", "entry:var/log", "whiteout:var/log/l"]],
];

describe.each(["overlay", "copy"] as const)("%s driver", (driver) => {
  const root = tmp();
  let s: Snapshotter;
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

  it.each(CASES.map((c, i) => [i, ...c] as const))("case %d: %s", async (i, _what, script, want) => {
    await s.prepare(`c${i}`, "base");
    sh(script, await s.mount(`c${i}`));
    await s.commit(`c${i}`);
    const d = await s.diff(`c${i}`);
    expect(d.entries.map((e) => `${e.kind}:${e.path}`)).toEqual(want);
  });

  it("writes included parents with the new metadata", async () => {
    await s.prepare("meta", "base");
    sh("chown 9:9 opt/a; echo y > opt/a/b/y", await s.mount("meta"));
    await s.commit("meta");
    const file = join(root, "layer.tar");
    await exportLayer(await s.diff("meta"), file, { compression: "none" });
    const items = await readTar(readFileSync(file));
    expect(items.map((i) => `${i.header.name} ${i.header.uid}:${i.header.gid} ${(i.header.mode ?? 0).toString(8)}`)).toEqual([
      "opt/ 0:0 755", "opt/a/ 9:9 755", "opt/a/b/ 0:0 755", "opt/a/b/y 0:0 644",
    ]);
  });

  it("writes mode 0 as 0 (not tar-stream's default 0644/0755)", async () => {
    await s.prepare("zero", "base");
    sh("mkdir z; echo x > z/f; chmod 000 z/f z", await s.mount("zero"));
    await s.commit("zero");
    const file = join(root, "zero.tar");
    await exportLayer(await s.diff("zero"), file, { compression: "none" });
    const items = await readTar(readFileSync(file));
    expect(items.map((i) => `${i.header.name} ${(i.header.mode ?? -1).toString(8)}`)).toEqual(["z/ 0", "z/f 0"]);
  });

  it("writes small and big files byte for byte, and fails clearly on a file that changed size under it", async () => {
    await s.prepare("sizes", "base");
    const p = await s.mount("sizes");
    sh("mkdir s; head -c 262144 /dev/urandom > s/edge; head -c 262145 /dev/urandom > s/over; echo tiny > s/tiny; : > s/empty", p);
    await s.commit("sizes");
    const diff = await s.diff("sizes");
    const file = join(root, "sizes.tar");
    await exportLayer(diff, file, { compression: "none" });
    const items = await readTar(readFileSync(file));
    const lp = diff.root;
    for (const n of ["edge", "over", "tiny", "empty"]) {
      expect(items.find((i) => i.header.name === `s/${n}`)?.body.equals(readFileSync(join(lp, "s", n)))).toBe(true);
    }
    // Written behind the snapshot's back after the walk: the export names the file instead of writing a bad tar.
    sh("echo longer-now >> s/tiny", lp);
    await expect(exportLayer(diff, join(root, "sizes2.tar"), { compression: "none" })).rejects.toMatchObject({ code: "TSB_LAYER_EXPORT", message: expect.stringContaining('"s/tiny"') });
  });

  it("a layer applied onto the base and diffed again gives the same entries", async () => {
    const file = join(root, "layer2.tar");
    await exportLayer(await s.diff("c4"), file, { compression: "none" });
    await s.prepare("re", "base");
    const { applyLayer } = await import("../../../src/snapshot/index.js");
    await applyLayer(file, await s.applyTarget("re"));
    await s.commit("re");
    expect((await s.diff("re")).entries.map((e) => `${e.kind}:${e.path}`)).toEqual(CASES[4]![2]);
  });
});
