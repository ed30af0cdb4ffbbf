/**
 * Cross-process locks over a shared root: `locks/<name>.lock` created with O_EXCL and holding the owner's pid and
 * host. A lock whose owner is gone is stolen, but only while holding a second `<name>.lock.steal` lock, so two
 * processes that both find the same dead owner cannot both remove the lock (one would remove the other's fresh lock).
 */
import { open, readFile, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { StoreError, ioError } from "./errors.js";
import { isOwnerAlive } from "./fs-util.js";
import type { RootLayout } from "./root.js";

/** Options of `acquireLock` / `withLock`. */
export interface LockOptions {
  /** Give up after this long with `TSB_STORE_LOCK_TIMEOUT`. @default 120000 */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/** A held lock; release it exactly once (or use `await using`). */
export interface LockHandle extends AsyncDisposable {
  readonly path: string;
  release(): Promise<void>;
}

const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, "-");
/** A lock file with unreadable content (owner crashed between create and write) is stale after this long. */
const UNREADABLE_STALE_MS = 10_000;

interface Owner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
}

async function readOwner(path: string): Promise<{ owner?: Owner; raw: string } | undefined> {
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const o = JSON.parse(raw) as Owner;
    if (typeof o.pid === "number" && typeof o.host === "string") return { owner: o, raw };
  } catch {
    // fall through: partially written lock file
  }
  return { raw };
}

async function tryCreate(path: string, content: string): Promise<boolean> {
  try {
    const fh = await open(path, "wx", 0o644);
    try {
      await fh.writeFile(content);
    } finally {
      await fh.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

async function isStale(path: string, state: { owner?: Owner; raw: string }): Promise<boolean> {
  if (state.owner) return !isOwnerAlive(state.owner.pid, state.owner.host);
  const st = await stat(path).catch(() => undefined);
  return st !== undefined && Date.now() - st.mtimeMs > UNREADABLE_STALE_MS;
}

/** Remove `path` if it still holds exactly `raw` from a dead owner, serialized by a steal lock. */
async function steal(path: string, raw: string): Promise<void> {
  const stealPath = `${path}.steal`;
  const mine = JSON.stringify({ pid: process.pid, host: HOST, token: Math.random().toString(36).slice(2) });
  if (!(await tryCreate(stealPath, mine))) {
    const st = await stat(stealPath).catch(() => undefined);
    // A stealer died inside this tiny critical section: let a later attempt proceed.
    if (st && Date.now() - st.mtimeMs > UNREADABLE_STALE_MS) await rm(stealPath, { force: true });
    return;
  }
  try {
    const again = await readOwner(path);
    if (again && again.raw === raw) await rm(path, { force: true });
  } finally {
    await rm(stealPath, { force: true });
  }
}

/** Acquire the named lock of a root, waiting (with backoff) while another live process holds it. */
export async function acquireLock(layout: RootLayout, name: string, opts: LockOptions = {}): Promise<LockHandle> {
  const path = join(layout.locks, `${name}.lock`);
  const content = JSON.stringify({ pid: process.pid, host: HOST, token: Math.random().toString(36).slice(2) });
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let delay = 2;
  for (;;) {
    opts.signal?.throwIfAborted();
    let state: { owner?: Owner; raw: string } | undefined;
    try {
      if (await tryCreate(path, content)) break;
      state = await readOwner(path);
      if (state && (await isStale(path, state))) {
        await steal(path, state.raw);
        continue;
      }
    } catch (err) {
      throw ioError(`cannot take lock ${path}`, err);
    }
    if (Date.now() > deadline) {
      const who = state?.owner ? ` (held by pid ${state.owner.pid} on ${state.owner.host})` : "";
      throw new StoreError("TSB_STORE_LOCK_TIMEOUT", `timed out waiting for lock ${path}${who}`, {
        hint: "another tsbuild process is using this root; wait for it, or remove the lock file if that process is gone",
      });
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 100);
  }
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    const now = await readOwner(path).catch(() => undefined);
    if (now?.raw === content) await rm(path, { force: true });
  };
  return { path, release, [Symbol.asyncDispose]: release };
}

/** Run `fn` while holding the named lock. */
export async function withLock<T>(layout: RootLayout, name: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(layout, name, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
