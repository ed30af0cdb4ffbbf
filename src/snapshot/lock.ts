/**
 * Cross-process exclusion for one snapshot root, and the identity of the processes that own active snapshots.
 *
 * The lock is a kernel flock(2) on `<root>/snapshots/lock`, held by a small perl helper (Debian `perl-base`, which
 * is Essential) that this process starts once and talks to over a pipe: "L" → flock(LOCK_EX) → "L", "U" → unlock.
 * Node has no flock API, and a lock file with a pid in it cannot be taken over safely when its owner dies; a flock
 * is released by the kernel the moment the helper's stdin closes, i.e. when this process dies, even by kill -9.
 * One round trip per critical section (~0.1 ms); one spawn per process and root.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { Writable } from "node:stream";
import { SnapshotError } from "./errors.js";

const HELPER = `use Fcntl ":flock"; $| = 1;
open(my $f, ">>", $ARGV[0]) or die "cannot open $ARGV[0]: $!\\n";
while (my $l = <STDIN>) {
  if ($l eq "L\\n") { flock($f, LOCK_EX) or die "flock: $!\\n"; print "L\\n"; }
  elsif ($l eq "U\\n") { flock($f, LOCK_UN); }
}`;

interface Unrefable {
  ref(): void;
  unref(): void;
}

/** One running helper and the request it has not answered yet: a helper's answer only ever settles its own waiter. */
interface Helper {
  readonly child: ChildProcess;
  waiter: { resolve: () => void; reject: (e: Error) => void } | undefined;
  stderr: string;
}

/** An exclusive lock on a file, shared by every caller in this process through an in-process queue. */
export class FileLock {
  readonly path: string;
  #helper: Helper | undefined;
  /** Tail of the in-process queue: each critical section starts when the previous one has released. */
  #tail: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  /** Run `fn` while holding the lock. Keep `fn` short: every tsbuild process on this root waits for it. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.#tail;
    let done!: () => void;
    this.#tail = new Promise<void>((r) => (done = r));
    try {
      await previous;
      const helper = await this.#acquire();
      try {
        return await fn();
      } finally {
        helper.child.stdin?.write("U\n");
      }
    } finally {
      done();
    }
  }

  /**
   * Stop the helper once every queued critical section has released. A run() queued after close() starts a new
   * helper; an idle helper never keeps the process alive, and the kernel drops the flock when this process dies.
   */
  close(): Promise<void> {
    return this.#tail.then(() => {
      const helper = this.#helper;
      this.#helper = undefined;
      helper?.child.stdin?.end();
    });
  }

  #spawn(): Helper {
    const child = spawn("perl", ["-e", HELPER, this.path], { stdio: ["pipe", "pipe", "pipe"] });
    const helper: Helper = { child, waiter: undefined, stderr: "" };
    let buf = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (s: string) => {
      buf += s;
      while (buf.includes("\n")) {
        const line = buf.slice(0, buf.indexOf("\n"));
        buf = buf.slice(line.length + 1);
        const w = helper.waiter;
        helper.waiter = undefined;
        if (line === "L" && w) {
          idle(child, true);
          w.resolve();
        }
      }
    });
    child.stderr!.on("data", (b: Buffer) => (helper.stderr += b.toString()));
    child.stdin!.on("error", () => {}); // reported through 'close'
    const fail = (e: Error): void => {
      if (this.#helper === helper) this.#helper = undefined;
      const w = helper.waiter;
      helper.waiter = undefined;
      idle(child, true);
      w?.reject(e);
    };
    child.on("error", (e: NodeJS.ErrnoException) => {
      fail(e.code === "ENOENT"
        ? new SnapshotError("TSB_SNAPSHOT_TOOL", "perl is not installed", "install the Debian package 'perl-base' (apt-get install perl-base)", e)
        : e);
    });
    child.on("close", (code) => {
      fail(new SnapshotError("TSB_SNAPSHOT_LOCK", `the lock helper for ${this.path} exited (${code ?? "signal"}): ${helper.stderr.trim()}`,
        "check that the snapshot root is writable"));
    });
    idle(child, true);
    return helper;
  }

  #acquire(): Promise<Helper> {
    const helper = (this.#helper ??= this.#spawn());
    return new Promise<Helper>((resolve, reject) => {
      helper.waiter = { resolve: () => resolve(helper), reject };
      idle(helper.child, false);
      (helper.child.stdin as Writable).write("L\n");
    });
  }
}

/** While idle the helper must not keep this process alive; while waiting for it, it must. */
function idle(child: ChildProcess, on: boolean): void {
  for (const h of [child, child.stdin, child.stdout, child.stderr] as unknown as Unrefable[]) {
    if (on) h.unref?.();
    else h.ref?.();
  }
}

/** Who owns an active snapshot: enough to tell, later and from another process, whether it is still running. */
export interface OwnerId {
  readonly pid: number;
  /** Start time of the process in clock ticks since boot (/proc/<pid>/stat field 22): tells a reused pid apart. */
  readonly start: string;
  readonly boot: string;
  readonly host: string;
}

function readStat(pid: number): { start: string; state: string } | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // "pid (comm) state ..." — comm may contain spaces and parentheses: split after the last ")"
  const fields = raw.slice(raw.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "", start: fields[19] ?? "" };
}

function readBootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "unknown";
  }
}

let self: OwnerId | undefined;

/** This process's identity. */
export function currentOwner(): OwnerId {
  self ??= Object.freeze({ pid: process.pid, start: readStat(process.pid)?.start ?? "0", boot: readBootId(), host: hostname() });
  return self;
}

/**
 * Whether the owner may still be running. Another host's processes cannot be checked and count as alive; a
 * different boot, a missing pid, a pid now used by a younger process, or a zombie count as dead.
 */
export function isOwnerAlive(owner: OwnerId): boolean {
  const me = currentOwner();
  if (owner.host !== me.host) return true;
  if (owner.boot !== me.boot) return false;
  if (owner.pid === me.pid) return owner.start === me.start;
  const st = readStat(owner.pid);
  return st !== undefined && st.start === owner.start && st.state !== "Z" && st.state !== "X";
}

/** A short file-name tag for temporary paths: `<pid>-<start>-<boot prefix>`. */
export function ownerTag(owner: OwnerId = currentOwner()): string {
  return `${owner.pid}-${owner.start}-${owner.boot.slice(0, 8)}`;
}

/** The inverse of ownerTag() for this host, or undefined for a name that carries no tag. */
export function parseOwnerTag(tag: string): OwnerId | undefined {
  const m = /^(\d+)-(\d+)-([0-9a-z]{1,8})$/.exec(tag);
  if (!m) return undefined;
  const me = currentOwner();
  const boot = m[3] === me.boot.slice(0, 8) ? me.boot : m[3]!;
  return { pid: Number(m[1]), start: m[2]!, boot, host: me.host };
}

