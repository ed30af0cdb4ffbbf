/**
 * The fully cached rebuild without the session: `tsbuild build` first tries the build in its own process with
 * snapshots only looked up and no step allowed to run (`build({ sessionless: true })`). When every step is cached
 * and every layer already exported, that is the whole build (no re-exec of node into the session). Otherwise it
 * gives up without output and the caller enters the session and builds as usual.
 *
 * A failed attempt costs the work up to the first miss (context checksums included), so the outcome of the last
 * build of the same command line is remembered (`<root>/cache/fastpath/`): after a build that ran steps, the next
 * one goes straight into the session; once a build was fully cached, the attempt is made again.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
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

/**
 * What identifies "the same build" for the outcome memo: the context, Dockerfile, target, platform, build
 * arguments, named contexts, tags and labels, the network mode — never secrets (not even their ids' values).
 */
export function outcomeKey(options: Omit<BuildOptions, "progress" | "signal">, cwd: string): string {
  const o = options as Partial<Record<string, unknown>> & { contextDir: string; dockerfile?: string | undefined };
  const material = JSON.stringify([
    "tsbuild.fastpath.v1",
    resolve(cwd, o.contextDir),
    o.dockerfile !== undefined ? resolve(cwd, o.dockerfile) : null,
    o.target ?? null, o.platform ?? null, o.buildArgs ?? null, o.buildContexts ?? null,
    o.tags ?? null, o.labels ?? null, o.network ?? null, o.pull ?? null, o.sourceDateEpoch ?? null,
  ]);
  return createHash("sha256").update(material).digest("hex");
}

const memoDir = (root: string): string => join(root, "cache", "fastpath");

/**
 * How many builds with this key in a row ran steps (0 after a fully cached one, undefined when unknown). After two
 * or more the caller skips the attempt: an edit-and-rebuild loop pays for one failed attempt, not for each; a
 * rebuild right after one build still tries the cached path.
 */
export async function builtInARow(root: string, key: string): Promise<number | undefined> {
  const v = await readFile(join(memoDir(root), key), "utf8").catch(() => undefined);
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** Skip the attempt when the recent builds of this command line all ran steps. */
export const SKIP_AFTER_BUILT = 2;

/** Remember the outcome of a build (a hint: written without fsync; a lost or torn write only costs one attempt). */
export async function recordOutcome(root: string, key: string, result: Pick<BuildResult, "ran">): Promise<void> {
  try {
    const before = (await builtInARow(root, key)) ?? 0;
    const after = result.ran === 0 ? 0 : Math.min(before + 1, SKIP_AFTER_BUILT);
    if (after === before) return;
    const dir = memoDir(root);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.${key}.${process.pid}.${randomBytes(4).toString("hex")}`);
    await writeFile(tmp, String(after));
    await rename(tmp, join(dir, key));
  } catch {
    // best effort
  }
}
