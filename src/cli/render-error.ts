import { TsbuildError, type SourceLocation, type SourceRange } from "../errors.js";
import type { TrackedVertex } from "../progress/index.js";
import { formatDuration } from "../progress/index.js";

/**
 * What the failure display reads from an op failure, duck-typed from the error's `cause` chain (the exec op throws
 * a TsbuildError with code TSB_EXEC_FAILED carrying these).
 */
export interface ExecFailureInfo {
  readonly exitCode?: number;
  /** argv of the process that failed, e.g. `["/bin/sh", "-c", "make"]`. */
  readonly command?: readonly string[];
  /** The signal that ended the process, if any. */
  readonly signal?: string;
}

/** The build's logs, as the CLI keeps them (a LogRing and LogFiles from src/progress satisfy this). */
export interface FailureLogs {
  /** The last lines (20) of a vertex's output. */
  tail(digest: string): readonly string[];
  /** Vertices that were running when the build stopped (for Ctrl-C). */
  interrupted?(): readonly TrackedVertex[];
  /** The complete log file of a vertex. */
  pathFor?(digest: string): string | undefined;
}

export interface RenderErrorOptions {
  readonly debug: boolean;
  readonly stderr: NodeJS.WritableStream;
  /** The Dockerfile being built, to draw the failing instruction when the error has only a vertex source range. */
  readonly dockerfile?: { readonly filename: string; readonly text: string };
  /** Log tails and files of the build. */
  readonly logs?: FailureLogs;
  /** Where full logs are, when kept apart from `logs`. */
  readonly logPath?: (digest: string) => string | undefined;
  /** The build context directory, named when a source is not found in it. */
  readonly contextDir?: string;
  /** Clock for "running for" durations. @default Date.now */
  readonly now?: () => number;
}

interface FailedVertex {
  readonly digest: string;
  readonly name: string;
  readonly source?: readonly SourceRange[];
}

/** Exit codes of the CLI. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * Print an error the way a user should see it and return the exit code (1, or 2 for usage errors). A failed build
 * step shows, BuildKit-style, the last log lines of the step, the Dockerfile lines with `>>>` on the failing
 * instruction, the command and exit code, and the path of the full log. Ctrl-C shows what was interrupted. Stack
 * traces only with `debug`.
 */
export async function renderError(err: unknown, opts: RenderErrorOptions): Promise<number> {
  const out = opts.stderr;
  if (err instanceof TsbuildError) {
    if (err.code === "TSB_CANCELLED") {
      out.write(renderCancelled(err, opts));
    } else {
      const vertex = failedVertex(err);
      out.write(vertex ? renderStepFailure(err, vertex, opts) : renderPlainError(err));
    }
    if (opts.debug) out.write(debugStack(err));
    return err.code === "TSB_USAGE" ? EXIT_USAGE : EXIT_FAILURE;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  out.write(`error: ${e.message}\n`);
  if (opts.debug) out.write(debugStack(e));
  else out.write("hint: this is an internal error of tsbuild; rerun with --debug for a stack trace and report it\n");
  return EXIT_FAILURE;
}

function renderPlainError(err: TsbuildError): string {
  const loc = err.location;
  const where = loc && loc.ranges[0] ? `${loc.filename}:${loc.ranges[0].start.line}:${loc.ranges[0].start.column}: ` : "";
  let s = `error: ${where}${err.message}\n`;
  if (loc) s += renderSnippet(loc);
  if (err.hint) s += `hint: ${err.hint}\n`;
  return s;
}

function renderStepFailure(err: TsbuildError, v: FailedVertex, opts: RenderErrorOptions): string {
  const exec = execInfo(err);
  const tail = opts.logs?.tail(v.digest) ?? [];
  const logPath = opts.logPath?.(v.digest) ?? opts.logs?.pathFor?.(v.digest);
  let s = "";
  if (tail.length > 0) {
    s += `------\n > ${v.name}:\n`;
    for (const l of tail) s += `${l}\n`;
    s += "------\n";
  }
  const loc = err.location ?? (opts.dockerfile && v.source?.length ? { ...opts.dockerfile, ranges: v.source } : undefined);
  const range = loc?.ranges[0];
  if (loc && range) {
    const lines = range.end.line !== range.start.line ? `${range.start.line}-${range.end.line}` : `${range.start.line}`;
    s += `${loc.filename}:${lines}\n${renderSnippet(loc).replace(/^\n/, "")}`;
  }
  let message = err.message;
  if (exec.exitCode !== undefined || exec.signal !== undefined) {
    const how = exec.signal !== undefined ? `killed by signal ${exec.signal}` : `exit code: ${exec.exitCode}`;
    message = exec.command?.length
      ? `process "${exec.command.join(" ")}" did not complete successfully: ${how}`
      : `did not complete successfully: ${how}`;
  }
  if (opts.contextDir !== undefined && hasCode(err, "TSB_CONTEXT_NOT_FOUND")) message += ` (build context: ${opts.contextDir})`;
  s += `error: ${v.name}: ${message}\n`;
  if (logPath) s += `full log: ${logPath}\n`;
  const hint =
    err.hint ??
    (exec.exitCode !== undefined || exec.signal !== undefined
      ? "the command failed inside the build; its output is above" + (logPath ? " and in the full log" : "")
      : undefined);
  if (hint) s += `hint: ${hint}\n`;
  return s;
}

function renderCancelled(err: TsbuildError, opts: RenderErrorOptions): string {
  const now = (opts.now ?? Date.now)();
  let s = `error: ${err.message}\n`;
  const stopped = opts.logs?.interrupted?.() ?? [];
  for (const t of stopped) {
    const ran = t.started !== undefined ? ` after ${formatDuration((t.ended ?? now) - t.started)}` : "";
    s += `interrupted: ${t.vertex.name}${ran}\n`;
  }
  if (stopped.length === 0) s += "interrupted before any step was running\n";
  return s;
}

/** The vertex of a VertexError (duck-typed: the CLI does not import the solver). */
function failedVertex(err: TsbuildError): FailedVertex | undefined {
  const v = (err as { vertex?: unknown }).vertex;
  if (typeof v !== "object" || v === null) return undefined;
  const { digest, name, source } = v as Record<string, unknown>;
  if (typeof digest !== "string" || typeof name !== "string") return undefined;
  return { digest, name, ...(Array.isArray(source) ? { source: source as SourceRange[] } : {}) };
}

/** Whether the error or one of its causes has this code. */
function hasCode(err: unknown, code: string): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && typeof e === "object" && e !== null; depth++) {
    if ((e as { code?: unknown }).code === code) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** exitCode/command/signal from the error or the first error of its cause chain that has them. */
export function execInfo(err: unknown): ExecFailureInfo {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && typeof e === "object" && e !== null; depth++) {
    const r = e as Record<string, unknown>;
    const exitCode = typeof r.exitCode === "number" ? r.exitCode : undefined;
    const signal = typeof r.signal === "string" ? r.signal : undefined;
    if (exitCode !== undefined || signal !== undefined) {
      const command = Array.isArray(r.command) && r.command.every((x) => typeof x === "string") ? (r.command as string[]) : undefined;
      return { ...(exitCode !== undefined ? { exitCode } : {}), ...(signal !== undefined ? { signal } : {}), ...(command ? { command } : {}) };
    }
    e = r.cause;
  }
  return {};
}

function debugStack(err: Error): string {
  let s = "";
  let e: unknown = err;
  for (let depth = 0; depth < 8 && e instanceof Error; depth++) {
    if (e.stack) s += `\n${depth > 0 ? "caused by: " : ""}${e.stack}\n`;
    e = e.cause;
  }
  return s;
}

/** Draw the lines of the first range with two lines of context and a `>>>` marker, as BuildKit does. */
export function renderSnippet(loc: SourceLocation, context = 2): string {
  const range = loc.ranges[0];
  if (!range || loc.text === undefined) return "";
  const lines = loc.text.split(/\r?\n/);
  const first = Math.max(1, range.start.line - context);
  const last = Math.min(lines.length, range.end.line + context);
  const width = String(last).length;
  let s = "\n";
  for (let n = first; n <= last; n++) {
    const inRange = n >= range.start.line && n <= range.end.line;
    s += `${inRange ? ">>>" : "   "} ${String(n).padStart(width)} | ${lines[n - 1] ?? ""}\n`;
  }
  return `${s}\n`;
}
