/**
 * Persistent cache mounts (`RUN --mount=type=cache`): one directory tree per cache id under
 * OpDeps.cacheMountsDir, never part of any layer.
 *
 *   <cacheMountsDir>/<sha256(id)>/data        the shared directory (sharing=shared and locked; private slot 0)
 *   <cacheMountsDir>/<sha256(id)>/private-N   extra directories for concurrent sharing=private users
 *
 * A directory is created once (under a lock, seeded from `from=` if given) with the mount's uid/gid/mode.
 * sharing=locked holds a cross-process lock for the whole run; sharing=private takes the first free slot (each
 * slot is a try-lock), so concurrent users never see each other's writes.
 */
import { randomUUID } from "node:crypto";
import { chmod, chown, cp, mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { digestHex, sha256 } from "../util/digest.js";
import { acquireLock, withLock, type LockHandle } from "../store/index.js";
import type { CacheMount } from "../graph/index.js";
import type { BuildRef } from "../cache/index.js";
import { TsbuildError } from "../errors.js";
import { resolveInside } from "./inputs.js";
import type { OpEnv } from "./resolver.js";

/** A cache directory in use by one run. */
export interface OpenCacheMount {
  readonly path: string;
  release(): Promise<void>;
}

/** Long enough for any RUN holding a locked cache. */
const LOCKED_WAIT_MS = 24 * 3600_000;
const MAX_PRIVATE_SLOTS = 64;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Create `dir` (atomically: build aside, then rename) unless it exists. */
async function ensureDir(m: CacheMount, dir: string, seed: BuildRef | undefined, env: OpEnv, lockName: string, signal: AbortSignal): Promise<void> {
  if (await exists(dir)) return;
  await withLock(env.deps.layout, lockName, async () => {
    if (await exists(dir)) return;
    const tmp = `${dir}.tmp-${randomUUID()}`;
    try {
      if (seed && seed.layers.length > 0) {
        const view = await env.deps.refs.view(seed, signal);
        try {
          const src = await resolveInside(view.path, m.selector, `cache mount ${m.dest} from=`);
          await cp(src, tmp, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
        } finally {
          await view.release();
        }
      } else {
        await mkdir(tmp);
      }
      await chown(tmp, m.cache.uid ?? 0, m.cache.gid ?? 0);
      await chmod(tmp, m.cache.mode ?? 0o755);
      await rename(tmp, dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }, { signal });
}

/** Open the cache directory for one run of `m` (see the file header for the sharing modes). */
export async function openCacheMount(m: CacheMount, seed: BuildRef | undefined, env: OpEnv, signal: AbortSignal): Promise<OpenCacheMount> {
  const hex = digestHex(sha256(m.cache.id));
  const base = join(env.deps.cacheMountsDir, hex);
  await mkdir(base, { recursive: true });
  const layout = env.deps.layout;
  switch (m.cache.sharing) {
    case "shared": {
      const path = join(base, "data");
      await ensureDir(m, path, seed, env, `cachemount-${hex}-create`, signal);
      return { path, release: async () => {} };
    }
    case "locked": {
      const lock = await acquireLock(layout, `cachemount-${hex}`, { signal, timeoutMs: LOCKED_WAIT_MS });
      try {
        const path = join(base, "data");
        await ensureDir(m, path, seed, env, `cachemount-${hex}-create`, signal);
        return { path, release: () => lock.release() };
      } catch (err) {
        await lock.release();
        throw err;
      }
    }
    case "private": {
      for (let slot = 0; slot < MAX_PRIVATE_SLOTS; slot++) {
        let lock: LockHandle;
        try {
          lock = await acquireLock(layout, `cachemount-${hex}-p${slot}`, { signal, timeoutMs: -1 });
        } catch (err) {
          if (err instanceof TsbuildError && err.code === "TSB_STORE_LOCK_TIMEOUT") continue;
          throw err;
        }
        try {
          const path = join(base, slot === 0 ? "data" : `private-${slot}`);
          await ensureDir(m, path, seed, env, `cachemount-${hex}-create`, signal);
          return { path, release: () => lock.release() };
        } catch (err) {
          await lock.release();
          throw err;
        }
      }
      // Every slot busy: a throwaway directory still gives private semantics.
      const path = join(base, `private-${randomUUID()}`);
      await ensureDir(m, path, seed, env, `cachemount-${hex}-create`, signal);
      return { path, release: () => rm(path, { recursive: true, force: true }) };
    }
  }
}
