/**
 * The few filesystem operations Node has no API for (xattrs, mknod, mkfifo, mount, tree copy), done by Debian
 * tools in batches: one getfattr per tree or per 400 paths, one setfattr --restore per layer, one cp -a per copy.
 */
import { spawn } from "node:child_process";
import { SnapshotError } from "./errors.js";

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
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
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
  if (r.code !== 0) {
    throw new SnapshotError("TSB_SNAPSHOT_IO", `${what} failed: ${r.stderr.split("\n")[0] ?? ""}`,
      "check the snapshot root's filesystem and permissions (overlay needs a user+mount namespace or root)");
  }
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
      // opaque markers are kept so walkUpper() can see them; it drops every *.overlay.* name before export
      if (isPortableXattr(name) || /\.overlay\.opaque$/.test(name)) current.set(name, decodeValue(value));
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
  const r = await runTool("getfattr", ["-R", "-P", ...DUMP_ARGS, "--", dir]);
  const map: XattrMap = new Map();
  parseDump(r.stdout.toString("utf8"), map); // exit 1 happens for unreadable entries; what was read is kept
  return map;
}

/** Extended attributes of the given absolute paths (batched). */
export async function readXattrs(paths: readonly string[]): Promise<XattrMap> {
  const map: XattrMap = new Map();
  for (let i = 0; i < paths.length; i += 400) {
    const r = await runTool("getfattr", [...DUMP_ARGS, "--", ...paths.slice(i, i + 400)]);
    parseDump(r.stdout.toString("utf8"), map);
  }
  return map;
}

/** Set extended attributes on many paths with one `setfattr --restore`. */
export async function writeXattrs(items: ReadonlyArray<readonly [path: string, name: string, value: Buffer]>): Promise<void> {
  if (items.length === 0) return;
  let dump = "";
  for (const [path, name, value] of items) dump += `# file: ${quote(path)}\n${name}=0s${value.toString("base64")}\n\n`;
  const r = await runTool("setfattr", ["--restore=-"], { input: Buffer.from(dump, "utf8") });
  if (r.code !== 0) {
    throw new SnapshotError("TSB_SNAPSHOT_XATTR", `setting extended attributes failed: ${r.stderr.split("\n")[0] ?? ""}`,
      "the filesystem of the snapshot root must support xattrs (ext4, xfs, btrfs, tmpfs)");
  }
}

/** mknod(2) through coreutils: `type` c (char), b (block) or p (fifo). */
export async function mknod(path: string, type: "c" | "b" | "p", mode: number, major = 0, minor = 0): Promise<ToolResult> {
  const m = (mode & 0o7777).toString(8);
  return type === "p" ? runTool("mkfifo", ["-m", m, "--", path]) : runTool("mknod", ["-m", m, "--", path, type, String(major), String(minor)]);
}

/** Copy a tree with everything (owners, modes, times, xattrs, hardlinks, special files): `cp -a src/. dst`. */
export async function copyTree(src: string, dst: string): Promise<void> {
  await mustRun("cp", ["-a", "--", `${src}/.`, dst], `copying ${src} to ${dst}`);
}
