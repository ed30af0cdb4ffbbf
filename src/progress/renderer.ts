import { UsageError } from "../errors.js";
import type { ProgressEvent, ProgressSink } from "./events.js";
import type { SignalHooks, TtyStream } from "./render/tty.js";
import { StepCounts, formatSummary, type BuildSummary } from "./summary.js";

/** `--progress` values, as buildx spells them. */
export type ProgressMode = "auto" | "tty" | "plain" | "rawjson" | "quiet";

/** A progress renderer: feed it events, then give it the summary and close it. */
export interface Renderer {
  /** The mode actually used (`auto` resolved). */
  readonly mode: Exclude<ProgressMode, "auto">;
  /** The sink to pass to the solver (tee it with others through {@link teeProgress}). */
  readonly write: ProgressSink;
  /** The end-of-build summary: digest, tags, time, cached steps. */
  summary(s: BuildSummary): void;
  /** Stop redrawing, draw the final state, restore the terminal. Call before printing anything else. Idempotent. */
  close(): void;
}

export interface CreateRendererOptions {
  /** Where progress goes (process.stderr in the CLI). */
  readonly stderr: NodeJS.WritableStream & TtyStream;
  /** Environment: reads TSBUILD_PROGRESS (used when mode is `auto`), NO_COLOR, FORCE_COLOR and TERM. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Whether `stderr` is a terminal (process.stderr.isTTY). */
  readonly isTTY?: boolean;
  /** Terminal width when the stream does not say. @default 80 */
  readonly columns?: number;
  /** Terminal height when the stream does not say. @default 24 */
  readonly rows?: number;
  /** Hooks to restore the cursor on Ctrl-C/exit in tty mode; the CLI passes `process`. */
  readonly signals?: SignalHooks;
  /** Clock for timers (tests). @default Date.now */
  readonly now?: () => number;
}

const MODES: readonly ProgressMode[] = ["auto", "tty", "plain", "rawjson", "quiet"];

/** Whether a string is a valid `--progress` value. */
export function isProgressMode(s: string): s is ProgressMode {
  return (MODES as readonly string[]).includes(s);
}

/** Parse a `--progress` value; throws a UsageError (exit code 2) naming the valid values. */
export function parseProgressMode(value: string): ProgressMode {
  if (isProgressMode(value)) return value;
  throw new UsageError(`invalid --progress value '${value}'`, { hint: `use one of: ${MODES.join(", ")}` });
}

/**
 * Resolve `auto` as buildx does: TSBUILD_PROGRESS when set, else tty when stderr is a terminal (and TERM is not
 * `dumb`), else plain. An unknown TSBUILD_PROGRESS value counts as unset.
 */
export function resolveProgressMode(
  mode: ProgressMode,
  o: { readonly env?: Readonly<Record<string, string | undefined>>; readonly isTTY?: boolean },
): Exclude<ProgressMode, "auto"> {
  let m = mode;
  const fromEnv = o.env?.TSBUILD_PROGRESS;
  if (m === "auto" && fromEnv !== undefined && isProgressMode(fromEnv)) m = fromEnv;
  if (m !== "auto") return m;
  return o.isTTY && o.env?.TERM !== "dumb" ? "tty" : "plain";
}

/**
 * The renderer for a `--progress` mode. The tty view is imported lazily, so plain, rawjson and quiet builds do
 * not load it.
 *
 * @example
 * ```ts
 * const r = await createRenderer(parseProgressMode(argv.progress), {
 *   stderr: process.stderr, env: process.env, isTTY: process.stderr.isTTY, signals: process,
 * });
 * const ring = new LogRing();
 * const files = createLogFiles(join(root, "logs", buildId));
 * const progress = teeProgress(r.write, ring.write, files.write);
 * try {
 *   const image = await build({ ..., progress });
 *   r.summary({ digest: image.id, tags });
 * } catch (err) {
 *   r.close(); // restore the terminal before printing the failure
 *   return renderError(err, { debug, stderr: process.stderr, logs: ring, logPath: files.pathFor, dockerfile });
 * } finally {
 *   r.close();
 *   files.close();
 * }
 * ```
 */
export async function createRenderer(mode: ProgressMode, o: CreateRendererOptions): Promise<Renderer> {
  const resolved = resolveProgressMode(mode, o);
  const now = o.now ?? Date.now;
  switch (resolved) {
    case "tty": {
      const { TtyRenderer } = await import("./render/tty.js");
      const color = o.env?.NO_COLOR ? false : o.env?.FORCE_COLOR !== undefined ? o.env.FORCE_COLOR !== "0" : true;
      const r = new TtyRenderer(o.stderr, { columns: o.columns, rows: o.rows, color, now, signals: o.signals });
      return { mode: resolved, write: r.write, summary: (s) => r.summary(s), close: () => r.close() };
    }
    case "plain": {
      const { PlainRenderer } = await import("./render/plain.js");
      const r = new PlainRenderer(o.stderr);
      const counts = new StepCounts();
      return {
        mode: resolved,
        write: (e: ProgressEvent) => {
          counts.add(e);
          r.write(e);
        },
        summary: (s) => o.stderr.write(formatSummary(s, counts, now()).map((l) => `${l}\n`).join("")),
        close: () => {},
      };
    }
    case "rawjson": {
      const { JsonRenderer } = await import("./render/json.js");
      const r = new JsonRenderer(o.stderr);
      return { mode: resolved, write: r.write, summary: (s) => r.summary(s, now()), close: () => {} };
    }
    case "quiet":
      return { mode: resolved, write: () => {}, summary: () => {}, close: () => {} };
  }
}

/** One sink that forwards every event to each of `sinks`, in order. A throwing sink does not stop the others. */
export function teeProgress(...sinks: readonly ProgressSink[]): ProgressSink {
  return (e) => {
    for (const s of sinks) {
      try {
        s(e);
      } catch {
        // Sinks must not throw; one that does must not break the build or the other sinks.
      }
    }
  };
}
