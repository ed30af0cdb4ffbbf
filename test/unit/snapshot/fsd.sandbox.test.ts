import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { chmodSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isRootless, requireSession } from "../../helpers/session.js";
import { OverlaySnapshotter, probeOverlay, SnapshotError } from "../../../src/snapshot/index.js";
import { fsdStatus, resetFsd, startFsd } from "../../../src/snapshot/fsd.js";
import { lstatDir } from "../../../src/snapshot/lstat-dir.js";
import { linkTree, mknod, mountFs, mustUmount, readXattrs, readXattrsTree, umountFs, writeXattrs, type XattrMap } from "../../../src/snapshot/native.js";
import { overlayOptions } from "../../../src/snapshot/overlay.js";
import { tmp } from "./tree.js";

requireSession();

const dirs: string[] = [];
const fresh = (prefix = "tsb-fsd-"): string => {
  const d = tmp(prefix);
  dirs.push(d);
  return d;
};
/** A tmpfs (mounted through the co-process): ext4 keeps an xattr value within one block, tmpfs takes 64 KiB. */
let tmpfs = "";
const savedPath = process.env.PATH;

beforeAll(async () => {
  expect(await startFsd()).toBe(true);
  tmpfs = fresh("tsb-fsd-tmpfs-");
  const r = await mountFs("tmpfs", "tsbuild-test", tmpfs, "size=16m,mode=755");
  expect(r).toMatchObject({ code: 0, stderr: "" });
});
afterEach(() => {
  process.env.PATH = savedPath;
  delete process.env.TSBUILD_FSD;
});
afterAll(async () => {
  resetFsd();
  if (tmpfs) await umountFs(tmpfs, { lazy: true });
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** With no tools on PATH, only the co-process can do the work: proves nothing was spawned. */
const withoutTools = (): void => {
  process.env.PATH = "/nonexistent";
};

const mounted = (path: string): boolean =>
  readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === path);

/** What getfattr reports, parsed byte-exactly: its `\ooo` escapes undone in paths and names, values in hex. */
function getfattr(paths: readonly string[]): XattrMap {
  const out = execFileSync("getfattr", ["-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", "--", ...paths]);
  const unquote = (b: Buffer): string => {
    const bytes: number[] = [];
    for (let i = 0; i < b.length; i++) {
      if (b[i] === 0x5c && /^[0-7]{3}$/.test(b.subarray(i + 1, i + 4).toString("latin1"))) {
        bytes.push(parseInt(b.subarray(i + 1, i + 4).toString("latin1"), 8));
        i += 3;
      } else bytes.push(b[i]!);
    }
    return Buffer.from(bytes).toString("utf8");
  };
  const map: XattrMap = new Map();
  let cur: Map<string, Buffer> | undefined;
  let start = 0;
  for (let i = 0; i <= out.length; i++) {
    if (i < out.length && out[i] !== 0x0a) continue;
    const line = out.subarray(start, i);
    start = i + 1;
    if (line.subarray(0, 8).toString("latin1") === "# file: ") map.set(unquote(line.subarray(8)), (cur = new Map()));
    else if (line.length > 0 && cur) {
      const eq = line.lastIndexOf(0x3d); // "=": names have theirs escaped, hex values have none
      const v = line.subarray(eq + 1).toString("latin1");
      cur.set(unquote(line.subarray(0, eq)), v === "" ? Buffer.alloc(0) : Buffer.from(v.slice(2), "hex"));
    }
  }
  return map;
}

const sorted = (m: XattrMap): Array<[string, Array<[string, string]>]> =>
  [...m].map(([p, a]): [string, Array<[string, string]>] => [p, [...a].map(([k, v]): [string, string] => [k, v.toString("hex")]).sort()]).sort();

describe("tsbuild-fsd co-process", () => {
  it("mounts and unmounts overlayfs (relative lowerdirs in a cwd) without spawning mount", async () => {
    const root = fresh();
    const probe = await probeOverlay(fresh());
    expect(probe.ok).toBe(true);
    for (const d of ["l1", "l2", "u", "w", "m"]) mkdirSync(join(root, d));
    writeFileSync(join(root, "l1", "a"), "from l1");
    writeFileSync(join(root, "l2", "b"), "from l2");
    withoutTools();
    const r = await mountFs("overlay", "overlay", "m", overlayOptions(probe.userxattr, ["l1", "l2"], { upper: "u", work: "w" }), { cwd: root });
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(mounted(join(root, "m"))).toBe(true);
    expect(readFileSync(join(root, "m", "a"), "utf8")).toBe("from l1");
    writeFileSync(join(root, "m", "b"), "changed");
    expect(readFileSync(join(root, "u", "b"), "utf8")).toBe("changed");
    await mustUmount(join(root, "m"), "unmounting the test view");
    expect(mounted(join(root, "m"))).toBe(false);
    // read-only ("ro" becomes MS_RDONLY, as mount(8) does)
    expect(await mountFs("overlay", "overlay", "m", overlayOptions(probe.userxattr, ["l1", "l2"]), { cwd: root })).toMatchObject({ code: 0 });
    expect(() => writeFileSync(join(root, "m", "c"), "x")).toThrow(/EROFS/);
    expect(await umountFs(join(root, "m"), { lazy: true })).toMatchObject({ code: 0 });
    expect(mounted(join(root, "m"))).toBe(false);
  });

  it("round-trips xattrs with odd names and values, exactly as getfattr reports them", async () => {
    const f = join(tmpfs, "odd\nname\\with bytes");
    writeFileSync(f, "");
    const d = join(tmpfs, "dir");
    mkdirSync(d);
    const big = Buffer.alloc(65536, 7);
    big.write("head\n\\", 0, "latin1");
    const items: Array<readonly [string, string, Buffer]> = [
      [f, "user.new\nline", Buffer.from("a\nb")],
      [f, "user.back\\slash=eq", Buffer.from("c\\d\\012")],
      [f, "user.binary", Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x0a])],
      [f, "user.empty", Buffer.alloc(0)],
      [d, "user.big", big],
    ];
    withoutTools();
    await writeXattrs(items);
    const got = await readXattrs([f, d, join(tmpfs, "missing")]);
    expect(got.get(f)?.get("user.new\nline")).toEqual(Buffer.from("a\nb"));
    expect(got.get(f)?.get("user.binary")).toEqual(Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x0a]));
    expect(got.get(f)?.get("user.empty")).toEqual(Buffer.alloc(0));
    expect(got.get(d)?.get("user.big")?.equals(big)).toBe(true);
    expect(got.has(join(tmpfs, "missing"))).toBe(false);
    process.env.PATH = savedPath;
    expect(sorted(got)).toEqual(sorted(getfattr([f, d])));
  });

  it("answers pipelined requests in order", async () => {
    const root = fresh();
    const files = Array.from({ length: 200 }, (_, i) => join(root, `f${i}`));
    for (const f of files) writeFileSync(f, "");
    withoutTools();
    await Promise.all(files.map((f, i) => writeXattrs([[f, "user.i", Buffer.from(String(i))]])));
    const got = await Promise.all(files.map((f, i) => (i % 3 === 0 ? mknod(`${f}.p`, "p", 0o600) : readXattrs([f]))));
    got.forEach((r, i) => {
      if (i % 3 === 0) expect(r).toMatchObject({ code: 0 });
      else expect((r as XattrMap).get(files[i]!)?.get("user.i")?.toString()).toBe(String(i));
    });
    expect(fsdStatus().starts).toBe(1);
  });

  it("lists a tree's xattrs exactly as the getfattr -R path did", async () => {
    const root = fresh();
    const overlayName = isRootless() ? "user.overlay.opaque" : "trusted.overlay.opaque";
    const items: Array<readonly [string, string, Buffer]> = [];
    for (let i = 0; i < 30; i++) {
      const dir = join(root, `d${i % 4}`, i % 3 === 0 ? "sub dir" : "s\\ub", `n${i}`);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, i % 5 === 0 ? "f\nnl" : `f é ${i}`);
      writeFileSync(file, String(i));
      symlinkSync("../nowhere", join(dir, "link"));
      if (i % 2 === 0) items.push([file, `user.k${i}`, Buffer.from(`v${i}`)]);
      if (i % 7 === 0) items.push([dir, overlayName, Buffer.from("y")], [dir, "user.overlay.origin", Buffer.from("x")]);
    }
    items.push([root, "user.top", Buffer.from("t")]);
    mkdirSync(join(root, "plain"));
    expect((await mknod(join(root, "plain", "fifo"), "p", 0o644)).code).toBe(0);
    await writeXattrs(items);
    const viaFsd = await readXattrsTree(`${root}/`);
    process.env.TSBUILD_FSD = "0";
    const viaTools = await readXattrsTree(root);
    expect(viaFsd.size).toBe(15 + 5 + 1);
    expect(sorted(viaFsd)).toEqual(sorted(viaTools));
    // overlay metadata is dropped except the opaque marker, as before
    expect([...viaFsd.values()].some((a) => a.has("user.overlay.origin"))).toBe(false);
    expect([...viaFsd.values()].filter((a) => a.has(overlayName))).toHaveLength(5);
  });

  it("makes whiteouts (0:0 char devices) and fifos with exact modes, no umask", async () => {
    const root = fresh();
    withoutTools();
    expect(await mknod(join(root, "wh"), "c", 0o666, 0, 0)).toMatchObject({ code: 0 });
    expect(await mknod(join(root, "fifo"), "p", 0o642)).toMatchObject({ code: 0 });
    const wh = lstatSync(join(root, "wh"));
    expect([wh.isCharacterDevice(), wh.rdev, wh.mode & 0o7777]).toEqual([true, 0, 0o666]);
    const fifo = lstatSync(join(root, "fifo"));
    expect([fifo.isFIFO(), fifo.mode & 0o7777]).toEqual([true, 0o642]);
    const nul = await mknod(join(root, "null"), "c", 0o600, 1, 3);
    if (isRootless()) expect(nul).toMatchObject({ code: 1, stderr: `mknod: ${join(root, "null")}: Operation not permitted` });
    else expect(lstatSync(join(root, "null")).rdev).toBe(lstatSync("/dev/null").rdev);
    expect(await mknod(join(root, "wh"), "p", 0o600)).toMatchObject({ code: 1, stderr: `mkfifo: ${join(root, "wh")}: File exists` });
  });

  it("turns errnos into the same SnapshotErrors as the tools did", async () => {
    const root = fresh();
    withoutTools();
    const missing = join(root, "missing");
    const xattrErr = await writeXattrs([[missing, "user.a", Buffer.from("1")]]).catch((e: unknown) => e);
    expect(xattrErr).toBeInstanceOf(SnapshotError);
    expect(xattrErr).toMatchObject({ code: "TSB_SNAPSHOT_XATTR", message: `setting extended attributes failed: ${missing}: No such file or directory` });
    symlinkSync("target", join(root, "link"));
    // user.* attributes are not allowed on symlinks (EPERM); lsetxattr never follows the link
    const permErr = await writeXattrs([[join(root, "link"), "user.a", Buffer.from("1")]]).catch((e: unknown) => e);
    expect(permErr).toMatchObject({ code: "TSB_SNAPSHOT_XATTR", message: expect.stringContaining(": Operation not permitted") });
    const umountErr = await mustUmount(root, "unmounting the test dir").catch((e: unknown) => e);
    expect(umountErr).toMatchObject({ code: "TSB_SNAPSHOT_IO", message: `unmounting the test dir failed: umount: ${root}: Invalid argument` });
    expect(await umountFs(missing)).toMatchObject({ code: 1, stderr: `umount: ${missing}: No such file or directory` });

    // a snapshot whose parent's upperdir vanished: the mount fails with ENOENT as TSB_SNAPSHOT_MOUNT
    const probe = await probeOverlay(root);
    const snap = new OverlaySnapshotter(join(root, "snaps"), { userxattr: probe.userxattr });
    await snap.prepare("a");
    await snap.commit("a");
    const ids = readdirSync(join(root, "snaps", "snapshots")).filter((n) => /^\d+$/.test(n));
    expect(ids).toHaveLength(1);
    await snap.prepare("b", "a");
    rmSync(join(root, "snaps", "snapshots", ids[0]!, "fs"), { recursive: true });
    const mountErr = await snap.mount("b").catch((e: unknown) => e);
    expect(mountErr).toBeInstanceOf(SnapshotError);
    expect(mountErr).toMatchObject({ code: "TSB_SNAPSHOT_MOUNT", message: expect.stringMatching(/^mounting snapshot "b" failed: mount: .*No such file or directory$/) });
    await snap.close();
  });

  it("restarts a dead co-process once, then falls back to the tools", async () => {
    resetFsd();
    const root = fresh();
    writeFileSync(join(root, "f"), "");
    await writeXattrs([[join(root, "f"), "user.a", Buffer.from("1")]]);
    const first = fsdStatus();
    expect(first).toMatchObject({ starts: 1, pid: expect.any(Number) });
    // a request in flight when it dies fails (it may have half happened); it is not silently redone
    const big = join(root, "big");
    for (let i = 0; i < 40; i++) mkdirSync(join(big, `d${i}`, ...Array.from({ length: 20 }, (_, j) => `s${j}`)), { recursive: true });
    const inFlight = readXattrsTree(big);
    await killFsd(first.pid!);
    await expect(inFlight).rejects.toMatchObject({ code: "TSB_SNAPSHOT_IO", message: "the filesystem helper tsbuild-fsd killed by SIGKILL during a request" });
    expect((await readXattrs([join(root, "f")])).get(join(root, "f"))?.get("user.a")).toEqual(Buffer.from("1"));
    const second = fsdStatus();
    expect(second).toMatchObject({ starts: 2, pid: expect.any(Number) });
    expect(second.pid).not.toBe(first.pid);
    await killFsd(second.pid!);
    // the tools now: they work with PATH, and fail without it (proving they are what runs)
    expect((await readXattrs([join(root, "f")])).get(join(root, "f"))?.get("user.a")).toEqual(Buffer.from("1"));
    expect(fsdStatus()).toMatchObject({ starts: 2, off: "tsbuild-fsd died twice" });
    expect(fsdStatus().pid).toBeUndefined();
    withoutTools();
    await expect(mknod(join(root, "p"), "p", 0o600)).rejects.toMatchObject({ code: "TSB_SNAPSHOT_TOOL" });
    resetFsd();
  });

  it("clones a tree with hard links exactly as cp -a -l does, without spawning cp", async () => {
    const src = join(fresh(), "src");
    mkdirSync(join(src, "d/e/f"), { recursive: true });
    for (let i = 0; i < 300; i++) writeFileSync(join(src, `d/${i % 3 ? "e/" : ""}f${i}`), `${i}\n`);
    symlinkSync("../nowhere", join(src, "d/link"));
    symlinkSync("/etc", join(src, "d/e/out")); // never followed
    expect(await mknod(join(src, "d/wh"), "c", 0)).toMatchObject({ code: 0 });
    mkdirSync(join(src, "odd"), { mode: 0o700 });
    chmodSync(join(src, "odd"), 0o2751);
    lchownSync(join(src, "odd"), 0, 0);
    await writeXattrs([[join(src, "d/e"), "user.overlay.opaque", Buffer.from("y")], [join(src, "odd"), "user.note", Buffer.from("kept")]]);
    for (const d of ["d/e/f", "d/e", "d", "odd", "."]) utimesSync(join(src, d), 1_500_000_000, 1_600_000_000 + d.length);
    const viaCp = join(fresh(), "cp");
    const viaFsd = join(fresh(), "fsd");
    mkdirSync(viaCp);
    mkdirSync(viaFsd);
    execFileSync("cp", ["-a", "-l", "--", `${src}/.`, viaCp]);
    withoutTools();
    await linkTree(src, viaFsd, "cloning");
    const list = (root: string): string[] => {
      const out: string[] = [];
      const walk = (rel: string): void => {
        for (const n of readdirSync(join(root, rel)).sort()) {
          const p = rel ? `${rel}/${n}` : n;
          const st = lstatSync(join(root, p));
          const same = st.isDirectory() ? `dir mtime ${st.mtimeMs}` : `ino ${st.ino === lstatSync(join(src, p)).ino}`;
          out.push(`${p} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${same}`);
          if (st.isDirectory()) walk(p);
        }
      };
      walk("");
      return out;
    };
    expect(list(viaFsd)).toEqual(list(viaCp));
    expect(list(viaFsd)).toContain("d/link 120777 0:0 ino true");
    expect(lstatSync(viaFsd).mtimeMs).toBe(lstatSync(viaCp).mtimeMs);
    const rel = (m: XattrMap, root: string): XattrMap => new Map([...m].map(([k, v]) => [k.slice(root.length), v]));
    expect(sorted(rel(await readXattrsTree(viaFsd), viaFsd))).toEqual(sorted(rel(await readXattrsTree(viaCp), viaCp)));
    expect((await readXattrs([join(viaFsd, "d/e")])).get(join(viaFsd, "d/e"))?.get("user.overlay.opaque")?.toString()).toBe("y");
    // A destination that is not an empty directory's parent: a clear failure naming it.
    await expect(linkTree(src, join(viaFsd, "missing"), "cloning")).rejects.toMatchObject({ code: "TSB_SNAPSHOT_IO" });
    await expect(linkTree(src, viaFsd, "cloning")).rejects.toThrow(/cloning failed: .*File exists/);
  });

  it("lists a directory with every child's lstat, equal to Node's, never through a symlink", async () => {
    const dir = fresh();
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "file"), "x".repeat(5000));
    chmodSync(join(dir, "file"), 0o4751);
    symlinkSync("sub", join(dir, "link"));
    expect(await mknod(join(dir, "fifo"), "p", 0o600)).toMatchObject({ code: 0 });
    utimesSync(join(dir, "file"), 1_000_000_000.123456, 1_500_000_000.987654321);
    writeFileSync(Buffer.concat([Buffer.from(join(dir, "bad-")), Buffer.from([0xff, 0xfe])]), "not utf-8");
    withoutTools();
    const listed = await lstatDir(dir)!;
    expect(listed.map((c) => c.name).sort()).toEqual(["fifo", "file", "link", "sub"]);
    for (const c of listed) {
      if (!("stat" in c)) throw new Error(`${c.name}: ${c.error.message}`);
      const st = lstatSync(join(dir, c.name));
      for (const k of ["mode", "uid", "gid", "nlink", "dev", "ino", "size", "rdev", "mtimeMs", "ctimeMs"] as const) expect([c.name, k, c.stat[k]]).toEqual([c.name, k, st[k]]);
      for (const m of ["isFile", "isDirectory", "isSymbolicLink", "isFIFO", "isSocket", "isCharacterDevice", "isBlockDevice"] as const) expect([c.name, m, c.stat[m]()]).toEqual([c.name, m, st[m]()]);
    }
    await expect(lstatDir(join(dir, "link"))!).rejects.toMatchObject({ code: expect.stringMatching(/^(ELOOP|ENOTDIR)$/) });
    await expect(lstatDir(join(dir, "missing"))!).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("uses the Debian tools when disabled with TSBUILD_FSD=0", async () => {
    process.env.TSBUILD_FSD = "0";
    const root = fresh();
    expect(await startFsd()).toBe(false);
    expect(fsdStatus()).toMatchObject({ off: "TSBUILD_FSD=0" });
    expect(await mknod(join(root, "p"), "p", 0o640)).toMatchObject({ code: 0 });
    expect(lstatSync(join(root, "p")).mode & 0o7777).toBe(0o640);
    withoutTools();
    await expect(mknod(join(root, "q"), "p", 0o600)).rejects.toMatchObject({ code: "TSB_SNAPSHOT_TOOL", message: "mkfifo is not installed" });
    await expect(writeXattrs([[join(root, "p"), "user.a", Buffer.from("1")]])).rejects.toMatchObject({ code: "TSB_SNAPSHOT_TOOL" });
  });
});

/** SIGKILL the co-process and wait until the client has seen it die. */
async function killFsd(pid: number): Promise<void> {
  process.kill(pid, "SIGKILL");
  for (let i = 0; i < 200 && fsdStatus().pid === pid; i++) await new Promise((r) => setTimeout(r, 10));
  expect(fsdStatus().pid).toBeUndefined();
}
