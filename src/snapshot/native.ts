/**
 * The few filesystem operations Node has no API for (xattrs, mknod, mkfifo, mount, umount, tree copy). Mounts,
 * xattrs and device nodes go to the tsbuild-fsd co-process (fsd.ts: one syscall each, no spawn); when it is off
 * (no `cc`, TSBUILD_FSD=0, died twice) Debian tools do them in batches: one getfattr per tree or per 400 paths, one
 * setfattr --restore per layer, one mount/umount/mknod per call. Tree copies are always one cp -a.
 */
import { spawn } from "node:child_process";
import { resolve as resolvePath } from "node:path";
import { SnapshotError } from "./errors.js";
import { decodeXattrRecords, FsdErrnoError, FsdOp, fsdRequest, type FsdField } from "./fsd.js";

const PACKAGE_OF: Readonly<Record<string, string>> = {
  getfattr: "attr", setfattr: "attr", mknod: "coreutils", mkfifo: "coreutils", cp: "coreutils",
  mount: "mount", umount: "mount",
};

export interface ToolResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Run a tool to completion; a missing binary becomes TSB_SNAPSHOT_TOOL naming the Debian package. */
export function runTool(cmd: string, args: readonly string[], opts: { cwd?: string; input?: Buffer } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    // env given explicitly: the same as the default, but it is this realm's process.env (a test may change PATH)
    const child = spawn(cmd, args, { cwd: opts.cwd, env: process.env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.stdin.on("error", () => {}); // the tool may exit before reading all input; its exit code tells
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") {
        reject(new SnapshotError("TSB_SNAPSHOT_TOOL", `${cmd} is not installed`,
          `install the Debian package '${PACKAGE_OF[cmd] ?? cmd}' (apt-get install ${PACKAGE_OF[cmd] ?? cmd})`, e));
      } else reject(e);
    });
    child.on("close", (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString().trim() }));
    child.stdin.end(opts.input);
  });
}

/** Like runTool but a non-zero exit becomes a SnapshotError with the tool's stderr. */
export async function mustRun(cmd: string, args: readonly string[], what: string, opts: { cwd?: string; input?: Buffer } = {}): Promise<Buffer> {
  const r = await runTool(cmd, args, opts);
  if (r.code !== 0) throw toolFailure(what, r);
  return r.stdout;
}

/** Attribute names that must never cross a layer boundary: overlay's own metadata, ACLs, host SELinux labels. */
export function isPortableXattr(name: string): boolean {
  return !/^(trusted|user)\.overlay\./.test(name) && !name.startsWith("system.") && name !== "security.selinux";
}

/** Undo getfattr's quoting of file names (`\ooo` octal escapes for `\`, newline, CR). */
function unquote(s: string): string {
  if (!s.includes("\\")) return s;
  const bytes: number[] = [];
  const raw = Buffer.from(s, "utf8");
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString("latin1"))) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString("latin1"), 8));
      i += 3;
    } else bytes.push(raw[i]!);
  }
  return Buffer.from(bytes).toString("utf8");
}

function quote(path: string): string {
  return path.replace(/[\\\n\r]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
}

export type XattrMap = Map<string, Map<string, Buffer>>;

/** What a listing keeps: portable names, and opaque markers so walkUpper() can see them (it drops every *.overlay.* name before export). */
function keepXattr(name: string): boolean {
  return isPortableXattr(name) || /\.overlay\.opaque$/.test(name);
}

/** Add an fsd answer's records to `into`, filtered like getfattr's output (an entry per path that has attributes). */
function addRecords(payload: Buffer, into: XattrMap): void {
  decodeXattrRecords(payload, (path, attrs) => {
    into.set(path, new Map(attrs.filter(([name]) => keepXattr(name))));
  });
}

const EMPTY = Buffer.alloc(0);
const OK: ToolResult = { code: 0, stdout: EMPTY, stderr: "" };

/**
 * Run an fsd request as a ToolResult: code 0, or 1 with `<tool>: <message>` as stderr when the kernel refused it.
 * `tool` runs instead when the co-process is off.
 */
async function fsdOrTool(op: FsdOp, fields: readonly FsdField[], label: string, tool: () => Promise<ToolResult>): Promise<ToolResult> {
  const req = fsdRequest(op, fields);
  if (!req) return tool();
  try {
    await req;
    return OK;
  } catch (e) {
    if (e instanceof FsdErrnoError) return { code: 1, stdout: EMPTY, stderr: `${label}: ${e.message}` };
    throw e;
  }
}

/** mount(2) flags that mount(8) takes from the option string; the rest is the filesystem's data string. */
const MOUNT_FLAGS: Readonly<Record<string, number>> = { ro: 1, rw: 0, nosuid: 2, nodev: 4, noexec: 8, sync: 16, dirsync: 128, noatime: 1024, nodiratime: 2048, relatime: 1 << 21 };

/**
 * `mount -t fstype -o options source target` (run in `cwd`, so relative paths in `options`, such as overlay
 * lowerdirs, resolve there): a ToolResult whose stderr is `mount: <target>: <why>` on failure.
 */
export function mountFs(fstype: string, source: string, target: string, options: string, opts: { cwd?: string } = {}): Promise<ToolResult> {
  let flags = 0;
  const data: string[] = [];
  for (const o of options.split(",")) {
    const f = MOUNT_FLAGS[o];
    if (f === undefined) data.push(o);
    else flags |= f;
  }
  const cwd = resolvePath(opts.cwd ?? ".");
  return fsdOrTool(FsdOp.mount, [cwd, fstype, source, target, flags, data.join(",")], `mount: ${resolvePath(cwd, target)}`,
    () => runTool("mount", ["-t", fstype, source, "-o", options, target], { cwd }));
}

/** `umount [-l] path`: a ToolResult whose stderr is `umount: <path>: <why>` on failure. */
export function umountFs(path: string, opts: { lazy?: boolean } = {}): Promise<ToolResult> {
  const MNT_DETACH = 2;
  return fsdOrTool(FsdOp.umount, [resolvePath(path), opts.lazy ? MNT_DETACH : 0], `umount: ${path}`,
    () => runTool("umount", opts.lazy ? ["-l", path] : [path]));
}

/** umountFs, failing with TSB_SNAPSHOT_IO (`<what> failed: …`) like mustRun. */
export async function mustUmount(path: string, what: string): Promise<void> {
  const r = await umountFs(path);
  if (r.code !== 0) throw toolFailure(what, r);
}

function toolFailure(what: string, r: ToolResult): SnapshotError {
  return new SnapshotError("TSB_SNAPSHOT_IO", `${what} failed: ${r.stderr.split("\n")[0] ?? ""}`,
    "check the snapshot root's filesystem and permissions (overlay needs a user+mount namespace or root)");
}

/** Parse `getfattr -d -e base64 --absolute-names` output into absolute path → name → value. */
function parseDump(out: string, into: XattrMap): void {
  let current: Map<string, Buffer> | undefined;
  for (const line of out.split("\n")) {
    if (line.startsWith("# file: ")) {
      current = new Map();
      into.set(unquote(line.slice(8)), current);
    } else if (line !== "" && current) {
      const eq = line.indexOf("=");
      const name = eq < 0 ? line : line.slice(0, eq);
      const value = eq < 0 ? "" : line.slice(eq + 1);
      if (keepXattr(name)) current.set(name, decodeValue(value));
    }
  }
}

function decodeValue(v: string): Buffer {
  if (v.startsWith("0s")) return Buffer.from(v.slice(2), "base64");
  if (v.startsWith("0x")) return Buffer.from(v.slice(2), "hex");
  if (v.startsWith('"') && v.endsWith('"')) return Buffer.from(v.slice(1, -1));
  return Buffer.from(v);
}

const DUMP_ARGS = ["-h", "-d", "-m", "-", "-e", "base64", "--absolute-names"];

/** All extended attributes below `dir` (recursively, not following symlinks), keyed by absolute path. */
export async function readXattrsTree(dir: string): Promise<XattrMap> {
  const req = fsdRequest(FsdOp.xattrTree, [dir.length > 1 ? dir.replace(/\/+$/, "") : dir]);
  if (req) {
    const map: XattrMap = new Map();
    addRecords(await req, map);
    return map;
  }
  const r = await runTool("getfattr", ["-R", "-P", ...DUMP_ARGS, "--", dir]);
  const map: XattrMap = new Map();
  parseDump(r.stdout.toString("utf8"), map); // exit 1 happens for unreadable entries; what was read is kept
  return map;
}

/** Extended attributes of the given absolute paths (batched). */
export async function readXattrs(paths: readonly string[]): Promise<XattrMap> {
  const map: XattrMap = new Map();
  if (paths.length === 0) return map;
  const req = fsdRequest(FsdOp.xattrs, [paths.length, ...paths]);
  if (req) {
    addRecords(await req, map);
    return map;
  }
  for (let i = 0; i < paths.length; i += 400) {
    const r = await runTool("getfattr", [...DUMP_ARGS, "--", ...paths.slice(i, i + 400)]);
    parseDump(r.stdout.toString("utf8"), map);
  }
  return map;
}

/** Set extended attributes on many paths with one `setfattr --restore`. */
export async function writeXattrs(items: ReadonlyArray<readonly [path: string, name: string, value: Buffer]>): Promise<void> {
  if (items.length === 0) return;
  const req = fsdRequest(FsdOp.setXattrs, [items.length, ...items.flat()]);
  if (req) {
    try {
      await req;
      return;
    } catch (e) {
      if (e instanceof FsdErrnoError) throw xattrFailure(e.message);
      throw e;
    }
  }
  let dump = "";
  for (const [path, name, value] of items) dump += `# file: ${quote(path)}\n${name}=0s${value.toString("base64")}\n\n`;
  const r = await runTool("setfattr", ["--restore=-"], { input: Buffer.from(dump, "utf8") });
  if (r.code !== 0) throw xattrFailure(r.stderr.split("\n")[0] ?? "");
}

function xattrFailure(why: string): SnapshotError {
  return new SnapshotError("TSB_SNAPSHOT_XATTR", `setting extended attributes failed: ${why}`,
    "the filesystem of the snapshot root must support xattrs (ext4, xfs, btrfs, tmpfs)");
}

/** mknod(2) with exactly `mode` (no umask): `type` c (char), b (block) or p (fifo). Failure: code 1, stderr `mknod: <path>: <why>`. */
export async function mknod(path: string, type: "c" | "b" | "p", mode: number, major = 0, minor = 0): Promise<ToolResult> {
  const m = (mode & 0o7777).toString(8);
  const ifmt = type === "p" ? 0o010000 : type === "c" ? 0o020000 : 0o060000;
  return fsdOrTool(FsdOp.mknod, [resolvePath(path), ifmt | (mode & 0o7777), major, minor], type === "p" ? "mkfifo" : "mknod",
    () => (type === "p" ? runTool("mkfifo", ["-m", m, "--", path]) : runTool("mknod", ["-m", m, "--", path, type, String(major), String(minor)])));
}

/**
 * Fill the empty directory `dst` with a hard-link clone of `src`'s tree, as `cp -a -l src/. dst`: directories made
 * anew with owner, mode, times and xattrs, everything else linked. The co-process does it with links only, on two
 * threads (native/fsd-clone.c); without it, cp.
 */
export async function linkTree(src: string, dst: string, what: string): Promise<void> {
  const r = await fsdOrTool(FsdOp.clone, [resolvePath(src), resolvePath(dst)], what, () => runTool("cp", ["-a", "-l", "--", `${src}/.`, dst]));
  if (r.code !== 0) throw toolFailure(what, r);
}

/** Copy a tree with everything (owners, modes, times, xattrs, hardlinks, special files): `cp -a src/. dst`. */
export async function copyTree(src: string, dst: string): Promise<void> {
  await mustRun("cp", ["-a", "--", `${src}/.`, dst], `copying ${src} to ${dst}`);
}
