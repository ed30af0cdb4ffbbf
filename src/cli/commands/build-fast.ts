/**
 * The fully cached rebuild without the session: `tsbuild build` first tries the build in its own process with
 * snapshots only looked up and no step allowed to run (`build({ sessionless: true })`). When every step is cached
 * and every layer already exported, that is the whole build (no re-exec of node into the session). Otherwise it
 * gives up without output and the caller enters the session and builds as usual.
 */
import type { BuildOptions, BuildResult } from "../../build.js";
import type { ProgressEvent } from "../../progress/events.js";
import type { BuildCliArgs } from "./build-run.js";

/** A build that finished outside the session, with its progress events to replay. */
export interface CachedBuild {
  readonly result: BuildResult;
  readonly events: readonly ProgressEvent[];
  /** When it started (ms since the epoch), for the summary. */
  readonly started: number;
}

/**
 * Whether these flags allow trying the sessionless path: not already in the session, not disabled with
 * `TSBUILD_FASTPATH=0`, and nothing that is sure to run a step or writes outside the root (`--no-cache`, pushes,
 * `-o`/`--load` outputs, `--cache-to/--cache-from`, `--explain`).
 */
export function mayTryCached(a: BuildCliArgs, options: Omit<BuildOptions, "progress" | "signal">, env: NodeJS.ProcessEnv): boolean {
  if (env.TSBUILD_SESSION === "1" || env.TSBUILD_FASTPATH === "0") return false;
  if (options.noCache || (options.noCacheFilter?.length ?? 0) > 0 || options.push || options.explain) return false;
  if (a.output !== undefined || a.load) return false;
  return (options.cacheFrom?.length ?? 0) === 0 && (options.cacheTo?.length ?? 0) === 0;
}

/** Try the build outside the session; undefined when it needs the session (or failed in any way: the session run reports it). */
export async function tryCachedBuild(options: Omit<BuildOptions, "progress" | "signal">): Promise<CachedBuild | undefined> {
  const started = Date.now();
  const events: ProgressEvent[] = [];
  const { build } = await import("../../build.js");
  try {
    const result = await build({ ...options, sessionless: true, progress: (e) => void events.push(e) });
    return { result, events, started };
  } catch {
    return undefined;
  }
}
