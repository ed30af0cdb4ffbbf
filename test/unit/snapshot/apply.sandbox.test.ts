import { afterAll, describe, expect, it } from "@jest/globals";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { compress as zstdCompress } from "@cloudpss/zstd";
import { isRootless, requireSession } from "../../helpers/session.js";
import { applyLayer, exportLayer, type LayerError } from "../../../src/snapshot/index.js";
import { makeTar, sh, tmp } from "./tree.js";

requireSession();

const base = tmp("tsb-apply-");
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

/** A fresh layout: <case>/root is the target, <case>/outside must never change. */
function layout(): { root: string; outside: string } {
  const dir = join(base, String(n++));
  const root = join(dir, "root");
  const outside = join(dir, "outside");
  mkdirSync(root, { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, "victim"), "original");
  return { root, outside };
}

async function applyTar(tar: Buffer, root: string): Promise<ReturnType<typeof applyLayer>> {
  return applyLayer(Readable.from([tar]), { mode: "flat", dir: root });
}

function untouched(outside: string): void {
  expect(readdirSync(outside)).toEqual(["victim"]);
  expect(readFileSync(join(outside, "victim"), "utf8")).toBe("original");
}

describe("hostile layers", () => {
  it.each([
    ["dot-dot", "../outside/victim", "TSB_LAYER_PATH"],
    ["nested dot-dot", "a/../../outside/victim", "TSB_LAYER_PATH"],
    ["absolute", "/etc/passwd", "TSB_LAYER_PATH"],
    ["huge name", `${"d/".repeat(2100)}f`, "TSB_LAYER_NAME_TOO_LONG"],
    ["huge component", "x".repeat(300), "TSB_LAYER_NAME_TOO_LONG"],
    ["whiteout of ..", "a/.wh..", "TSB_LAYER_INVALID"],
  ])("rejects %s", async (_what, name, code) => {
    const { root, outside } = layout();
    const tar = await makeTar([{ header: { name: "a/", type: "directory", mode: 0o755 } }, { header: { name, type: "file" }, body: "pwned" }]);
    const err = (await applyTar(tar, root).catch((e: unknown) => e)) as LayerError;
    expect(err).toMatchObject({ code });
    expect(err.message).toContain(JSON.stringify(name.length > 200 ? name.slice(0, 200) : name).slice(0, 40));
    untouched(outside);
  });

  it("never writes through a symlink that points outside", async () => {
    const { root, outside } = layout();
    const tar = await makeTar([
      { header: { name: "link", type: "symlink", linkname: outside } },
      { header: { name: "link/victim", type: "file" }, body: "pwned" },
    ]);
    await expect(applyTar(tar, root)).rejects.toMatchObject({ code: "TSB_LAYER_SYMLINK", entry: "link/victim" });
    untouched(outside);
    const rel = await makeTar([
      { header: { name: "rel", type: "symlink", linkname: "../outside" } },
      { header: { name: "rel/new", type: "file" }, body: "pwned" },
    ]);
    await expect(applyTar(rel, root)).rejects.toMatchObject({ code: "TSB_LAYER_SYMLINK" });
    untouched(outside);
  });

  it("rejects hardlinks to paths outside the root or not in the layer", async () => {
    const { root, outside } = layout();
    for (const linkname of ["../outside/victim", `${outside}/victim`, "missing"]) {
      const tar = await makeTar([{ header: { name: "h", type: "link", linkname } }]);
      const err = await applyTar(tar, root).catch((e: unknown) => e);
      expect((err as LayerError).code).toMatch(/^TSB_LAYER_(PATH|HARDLINK)$/);
      expect((err as LayerError).entry).toBeDefined();
    }
    // a hardlink through a symlinked parent is a write through the symlink
    const tar = await makeTar([
      { header: { name: "s", type: "symlink", linkname: outside } },
      { header: { name: "h", type: "link", linkname: "s/victim" } },
    ]);
    await expect(applyTar(tar, root)).rejects.toMatchObject({ code: "TSB_LAYER_SYMLINK" });
    untouched(outside);
  });

  it("replaces duplicate entries without following what they replace", async () => {
    const { root, outside } = layout();
    const tar = await makeTar([
      { header: { name: "a", type: "file" }, body: "one" },
      { header: { name: "a", type: "file" }, body: "two" },
      { header: { name: "d", type: "symlink", linkname: outside } },
      { header: { name: "d/", type: "directory", mode: 0o755 } },
      { header: { name: "d/victim", type: "file" }, body: "inside" },
      { header: { name: "v", type: "symlink", linkname: join(outside, "victim") } },
      { header: { name: "v", type: "file" }, body: "replaced" },
    ]);
    await applyTar(tar, root);
    expect(readFileSync(join(root, "a"), "utf8")).toBe("two");
    expect(lstatSync(join(root, "d")).isDirectory()).toBe(true);
    expect(readFileSync(join(root, "d/victim"), "utf8")).toBe("inside");
    expect(lstatSync(join(root, "v")).isFile()).toBe(true);
    untouched(outside);
  });

  it("rejects a truncated tar with a TSB_LAYER code", async () => {
    const { root } = layout();
    const tar = await makeTar([{ header: { name: "big", type: "file" }, body: Buffer.alloc(5000, 1) }]);
    await expect(applyTar(tar.subarray(0, 1500), root)).rejects.toMatchObject({ code: expect.stringMatching(/^TSB_LAYER_/) });
  });
});

describe("layer formats and metadata", () => {
  it("detects gzip, zstd and plain tars by magic bytes", async () => {
    const tar = await makeTar([{ header: { name: "f", type: "file", mode: 0o640, uid: 7, gid: 8, mtime: new Date(123_000) }, body: "x" }]);
    for (const [format, blob] of [["none", tar], ["gzip", gzipSync(tar)], ["zstd", Buffer.from(zstdCompress(tar))]] as const) {
      const { root } = layout();
      expect((await applyTar(blob, root)).format).toBe(format);
      const st = lstatSync(join(root, "f"));
      expect([st.mode & 0o7777, st.uid, st.gid, st.mtimeMs]).toEqual([0o640, 7, 8, 123_000]);
    }
  });

  it("honours whiteouts and opaque dirs in flat and overlay targets", async () => {
    const { root } = layout();
    sh("mkdir -p gone keep/old opq/sub; touch gone/f keep/old/f opq/sub/f opq/x; echo k > keep/k", root);
    const tar = await makeTar([
      { header: { name: ".wh.gone", type: "file" } },
      { header: { name: "keep/", type: "directory", mode: 0o755 } },
      { header: { name: "keep/.wh.old", type: "file" } },
      { header: { name: "opq/", type: "directory", mode: 0o755 } },
      { header: { name: "opq/.wh..wh..opq", type: "file" } },
      { header: { name: "opq/new", type: "file" }, body: "n" },
    ]);
    await applyTar(tar, root);
    expect(sh("find . | sort", root).trim().split("\n")).toEqual([".", "./keep", "./keep/k", "./opq", "./opq/new"]);

    const upper = join(base, `upper${n++}`);
    mkdirSync(upper);
    const template = join(base, `wh${n++}`);
    sh(`mknod "${template}" c 0 0`);
    await applyLayer(Readable.from([tar]), { mode: "overlay", dir: upper, opaqueXattr: "user.overlay.opaque", whiteoutTemplate: template });
    const wh = lstatSync(join(upper, "gone"));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(lstatSync(join(upper, "keep/old")).isCharacterDevice()).toBe(true);
    expect(sh(`getfattr --only-values -n user.overlay.opaque "${join(upper, "opq")}"`)).toBe("y");
  });

  it("round-trips binary xattrs, hardlinks, long and non-ASCII names through export and apply", async () => {
    const { root } = layout();
    const long = `${"long-dir-name/".repeat(12)}fïlé-${"x".repeat(120)}`;
    sh(`mkdir -p "$(dirname '${long}')"; echo data > '${long}'; ln '${long}' hard; ln -s '${long}' sym
        setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= hard; setfattr -n user.bin -v 0x00ff80fe hard`, root);
    const entries = sh("find . -mindepth 1 | sed 's|^./||'", root).trim().split("\n").sort();
    const { lstatSync: ls } = await import("node:fs");
    const source = {
      root,
      entries: entries.map((p) => ({ kind: "entry" as const, path: p, stat: ls(join(root, p), { bigint: true }) })),
      xattrs: new Map([["hard", new Map([["security.capability", Buffer.from("AQAAAgAgAAAAAAAAAAAAAAAAAAA=", "base64")], ["user.bin", Buffer.from([0, 0xff, 0x80, 0xfe])]])]]),
    };
    const { sortEntries } = await import("../../../src/snapshot/walk.js");
    const file = join(base, `layer${n++}`);
    const desc = await exportLayer({ ...source, entries: sortEntries(source.entries) }, file, { compression: "zstd" });
    expect(desc.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+zstd");
    const { root: dest } = layout();
    await applyLayer(file, { mode: "flat", dir: dest });
    expect(readFileSync(join(dest, long), "utf8")).toBe("data\n");
    expect(lstatSync(join(dest, "hard")).ino).toBe(lstatSync(join(dest, long)).ino);
    expect(sh(`getfattr -d -m - "${join(dest, "hard")}"`)).not.toContain("user.bin"); // layers keep security.capability only
    expect(sh(`getfattr -e base64 -n security.capability "${join(dest, "hard")}"`)).toContain("AQAAAgAgAAAAAAAAAAAAAAAAAAA=");
  });

  it("applies names and link targets that are not UTF-8 as their bytes (PAX records and GNU tar's header fields)", async () => {
    const { execFileSync } = await import("node:child_process");
    const { readdirSync: rd, readlinkSync: rl, symlinkSync: sl, writeFileSync: wf, mkdirSync: md } = await import("node:fs");
    const raw = (s: string, ...bytes: number[]): Buffer => Buffer.concat([Buffer.from(s), Buffer.from(bytes)]);
    // Written by GNU tar (raw bytes in the ustar fields) and by tsbuild's exporter (PAX path/linkpath records).
    const { root: src } = layout();
    md(raw(join(src, "d-"), 0xff));
    wf(raw(join(src, "d-"), 0xff, 0x2f, 0x63, 0x61, 0x66, 0xe9), "latin-1\n");
    sl(raw("t-", 0xfe), join(src, "link"));
    const gnu = join(base, `layer${n++}.tar`);
    execFileSync("tar", ["--format=gnu", "-cf", gnu, "-C", src, "."]);
    for (const file of [gnu]) {
      const { root: dest } = layout();
      await applyLayer(file, { mode: "flat", dir: dest });
      expect(rd(raw(join(dest, "d-"), 0xff), { encoding: "buffer" }).map((b) => b.toString("hex"))).toEqual([raw("caf", 0xe9).toString("hex")]);
      expect(rl(join(dest, "link"), { encoding: "buffer" }).equals(raw("t-", 0xfe))).toBe(true);
      // Exported again by tsbuild (PAX records) and applied once more: the same bytes.
      const { walkUpper } = await import("../../../src/snapshot/walk.js");
      const again = join(base, `layer${n++}.tar`);
      await exportLayer(await walkUpper(dest), again, { compression: "none" });
      const { root: dest2 } = layout();
      await applyLayer(again, { mode: "flat", dir: dest2 });
      expect(rd(raw(join(dest2, "d-"), 0xff), { encoding: "buffer" }).map((b) => b.toString("hex"))).toEqual([raw("caf", 0xe9).toString("hex")]);
      expect(rl(join(dest2, "link"), { encoding: "buffer" }).equals(raw("t-", 0xfe))).toBe(true);
    }
  });

  it("creates device nodes only when permitted, with a note otherwise", async () => {
    const { root } = layout();
    const tar = await makeTar([
      { header: { name: "null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 } },
      { header: { name: "fifo", type: "fifo", mode: 0o600 } },
    ]);
    const res = await applyTar(tar, root);
    expect(lstatSync(join(root, "fifo")).isFIFO()).toBe(true);
    if (isRootless()) {
      expect(existsSync(join(root, "null"))).toBe(false);
      expect(res.notes.join("\n")).toContain('"null"');
    } else {
      expect(lstatSync(join(root, "null")).isCharacterDevice()).toBe(true);
    }
  });
});
