/**
 * Sandboxes still running on a directory tree, found through /proc (for `tsbuild doctor`): every `tsbuild-helper
 * run` whose rootfs lies under the tree. A sandbox whose parent is no longer a tsbuild process has outlived its
 * build (the helper dies with its parent, so this means something went wrong).
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename } from "node:path";

/** One running sandbox helper (the process that owns the sandbox's namespaces). */
export interface SandboxProcess {
  readonly pid: number;
  readonly ppid: number;
  /** The rootfs directory it runs on. */
  readonly rootfs: string;
  /** The command run in the sandbox. */
  readonly command: readonly string[];
  /** True when its parent is gone (reparented) or is not a tsbuild (node) process. */
  readonly orphaned: boolean;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return 0;
  // "pid (comm) state ppid ...": comm may contain spaces and parentheses; the last ')' ends it.
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] ?? 0);
}

function argvOf(pid: number): string[] | undefined {
  const raw = read(`/proc/${pid}/cmdline`);
  return raw ? raw.split("\0").slice(0, -1) : undefined;
}

/** Sandbox helpers running on a rootfs at or below `dir` (outermost helper of each sandbox only). */
export function findSandboxProcesses(dir: string): SandboxProcess[] {
  const out: SandboxProcess[] = [];
  let pids: number[];
  try {
    pids = readdirSync("/proc").filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return out;
  }
  const isHelperRun = (argv: readonly string[] | undefined): argv is string[] =>
    argv !== undefined && basename(argv[0] ?? "").startsWith("tsbuild-helper") && argv[1] === "run";
  for (const pid of pids) {
    const argv = argvOf(pid);
    if (!isHelperRun(argv)) continue;
    const i = argv.indexOf("--rootfs");
    const rootfs = i > 0 ? (argv[i + 1] ?? "") : "";
    if (rootfs !== dir && !rootfs.startsWith(`${dir}/`)) continue;
    const ppid = parentOf(pid);
    const parentArgv = argvOf(ppid);
    if (isHelperRun(parentArgv)) continue; // the sandbox's init (a clone of the helper): counted with its parent
    const dash = argv.indexOf("--");
    const parentIsNode = parentArgv !== undefined && /(^|\/)node[^/]*$/.test(parentArgv[0] ?? "");
    out.push({ pid, ppid, rootfs, command: dash >= 0 ? argv.slice(dash + 1) : [], orphaned: ppid <= 1 || !parentIsNode });
  }
  return out.sort((a, b) => a.pid - b.pid);
}
