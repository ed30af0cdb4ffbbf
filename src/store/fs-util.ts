/**
 * Small crash-safety primitives shared by the store: owner-tagged temp names, liveness checks, directory fsync
 * and atomic whole-file writes (tmp + fsync + rename + fsync dir).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { open, readdir, rename, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";

const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, "-");

/**
 * State (field 3) and start time in clock ticks since boot (field 22) of a process from /proc/<pid>/stat, or
 * undefined if unknown.
 */
function processStat(pid: number): { readonly state: string; readonly start: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: fields after it follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] === undefined ? undefined : { state: fields[0] ?? "", start: Number(fields[19]) };
  } catch {
    return undefined;
  }
}

const OWN_START = processStat(process.pid)?.start;

/**
 * A temp file name that records its owner: `<pid>-<start>.<random>.<host>[suffix]` (start: the process start time,
 * so a reused pid is told apart; pids wrap quickly where pid_max is 32768). Stale-file reaping relies on it: a file
 * is removed only when its owner process is known to be gone.
 */
export function tempName(suffix = ""): string {
  const owner = OWN_START === undefined ? `${process.pid}` : `${process.pid}-${OWN_START}`;
  return `${owner}.${randomBytes(6).toString("hex")}.${HOST}${suffix}`;
}

/** The owner of a file named by `tempName` (also the older `<pid>.<random>.<host>` form), or undefined. */
export function tempOwner(name: string): { readonly pid: number; readonly host: string; readonly start?: number } | undefined {
  const m = /^(\d+)(?:-(\d+))?\.[0-9a-f]{12}\.([A-Za-z0-9.-]+?)(\.tmp)?$/.exec(name);
  if (!m) return undefined;
  return { pid: Number(m[1]), host: m[3]!, ...(m[2] !== undefined ? { start: Number(m[2]) } : {}) };
}

/**
 * Whether the process `pid` on `host` may still be running. Other hosts are assumed alive (we cannot tell), and
 * EPERM means the process exists under another user; a zombie has exited. With `start`, a live process with another
 * start time is a reused pid: the owner is gone.
 */
export function isOwnerAlive(pid: number, host: string, start?: number): boolean {
  if (host !== HOST) return true;
  if (pid === process.pid) return start === undefined || OWN_START === undefined || start === OWN_START;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const actual = processStat(pid);
  // A zombie has exited: it only waits for its parent (or an init that may never reap it) to collect its status.
  if (actual?.state === "Z" || actual?.state === "X") return false;
  if (start === undefined) return true;
  return actual === undefined || actual.start === start;
}

/** Remove files in `dir` named by `tempName` whose owner process is gone. Returns the names removed. */
export async function reapStaleTemps(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const owner = tempOwner(name);
    if (!owner || isOwnerAlive(owner.pid, owner.host, owner.start)) continue;
    try {
      await rm(join(dir, name), { force: true, recursive: true });
      removed.push(name);
    } catch {
      // Not removable by this process (e.g. files a rootless RUN wrote with a subordinate uid, outside the session):
      // a later reap inside the session, or `tsbuild prune`, takes it; `tsbuild doctor` reports it meanwhile.
    }
  }
  return removed;
}

/** fsync a directory so a rename or unlink inside it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Replace `path` atomically with `data`: write a sibling temp file, fsync it, rename it over `path`, fsync the
 * directory. Readers see the old or the new content, never a mix. With `durable: false` both fsyncs are skipped:
 * readers still never see a mix, but a crash may lose the file or leave it empty (for records that only matter
 * while their writer lives, such as leases).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, opts: { readonly durable?: boolean } = {}): Promise<void> {
  const durable = opts.durable ?? true;
  const dir = dirname(path);
  const tmp = join(dir, tempName(".tmp"));
  const fh = await open(tmp, "wx", mode);
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (durable) await fsyncDir(dir);
}

/** `stat` that returns undefined for ENOENT. */
export async function statOrUndefined(path: string): Promise<import("node:fs").Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
