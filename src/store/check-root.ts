/**
 * The store's part of `tsbuild doctor` beyond fsck: leftovers of processes that died (stray temp files, stale
 * locks) and mounts still attached below the root. Read-only: reports, never repairs (the next tsbuild process
 * reaps what dead owners left, see prepareRoot).
 */
import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { isOwnerAlive, tempOwner } from "./fs-util.js";
import type { RootLayout } from "./root.js";

/** One leftover found by {@link checkRoot}: its path relative to the root and why it is one. */
export interface RootFinding {
  readonly path: string;
  readonly reason: string;
}

/** Findings of {@link checkRoot}. `ok` is true when none of the lists has an entry. */
export interface RootCheckReport {
  readonly ok: boolean;
  /** Temp files and scratch directories whose owner process is gone (or that carry no owner at all). */
  readonly strayTemps: readonly RootFinding[];
  /** Lock files whose owner process is gone. */
  readonly staleLocks: readonly RootFinding[];
  /** Mount points at or below the root in this process's mount namespace. */
  readonly mounts: readonly string[];
}

/** Options of {@link checkRoot}. */
export interface RootCheckOptions {
  /** Extra directories (relative to the root) whose atomic-write temp files (`*.tmp`) are checked. */
  readonly tempDirs?: readonly string[];
  /** The mount table to read. @default /proc/self/mountinfo */
  readonly mountinfo?: string;
}

const ALIVE = (name: string): boolean => {
  const o = tempOwner(name);
  return o !== undefined && isOwnerAlive(o.pid, o.host, o.start);
};

/** Look for what dead processes left in a tsbuild root. Only reads. */
export async function checkRoot(layout: RootLayout, opts: RootCheckOptions = {}): Promise<RootCheckReport> {
  const rel = (p: string): string => p.slice(layout.root.length + 1);
  const strayTemps: RootFinding[] = [];
  // tmp/: everything in it must belong to a live process.
  for (const name of await list(layout.tmp)) {
    if (!ALIVE(name)) strayTemps.push({ path: rel(join(layout.tmp, name)), reason: tempOwner(name) ? "owner process is gone" : "no owner (not named by tempName)" });
  }
  // Atomic-write temp files next to the files they replace.
  const dirs = [layout.images, layout.leases, ...(opts.tempDirs ?? []).map((d) => join(layout.root, d))];
  for (const dir of dirs) {
    for (const name of await list(dir)) {
      if (/\.tmp($|[.-])/.test(name) && !ALIVE(name)) strayTemps.push({ path: rel(join(dir, name)), reason: "unfinished atomic write of a dead process" });
    }
  }
  const staleLocks: RootFinding[] = [];
  for (const name of await list(layout.locks)) {
    const path = join(layout.locks, name);
    try {
      const o = JSON.parse(await readFile(path, "utf8")) as { pid?: unknown; host?: unknown };
      if (typeof o.pid === "number" && typeof o.host === "string" && !isOwnerAlive(o.pid, o.host)) {
        staleLocks.push({ path: rel(path), reason: `held by pid ${o.pid}, which is gone` });
      }
    } catch {
      staleLocks.push({ path: rel(path), reason: "unreadable lock file" });
    }
  }
  const mounts = mountsBelow(layout.root, opts.mountinfo);
  return { ok: strayTemps.length === 0 && staleLocks.length === 0 && mounts.length === 0, strayTemps, staleLocks, mounts };
}

/** Mount points at or below `dir` in a mountinfo table (octal escapes decoded), deepest last. */
export function mountsBelow(dir: string, mountinfo = "/proc/self/mountinfo"): string[] {
  let text: string;
  try {
    text = readFileSync(mountinfo, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .map((l) => (l.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort();
}

async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}
