import { TsbuildError, type SourceLocation } from "../errors.js";

export interface RenderErrorOptions {
  readonly debug: boolean;
  readonly stderr: NodeJS.WritableStream;
}

/** Print an error the way a user should see it and return the exit code (1, or 2 for usage errors). */
export async function renderError(err: unknown, opts: RenderErrorOptions): Promise<number> {
  const out = opts.stderr;
  if (err instanceof TsbuildError) {
    const loc = err.location;
    const where = loc && loc.ranges[0] ? `${loc.filename}:${loc.ranges[0].start.line}:${loc.ranges[0].start.column}: ` : "";
    out.write(`error: ${where}${err.message}\n`);
    if (loc) out.write(renderSnippet(loc));
    if (err.hint) out.write(`hint: ${err.hint}\n`);
    if (opts.debug && err.stack) out.write(`\n${err.stack}\n`);
    return err.code === "TSB_USAGE" ? 2 : 1;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  out.write(`error: ${e.message}\n`);
  if (opts.debug && e.stack) out.write(`\n${e.stack}\n`);
  else out.write("hint: this is an internal error of tsbuild; rerun with --debug for a stack trace and report it\n");
  return 1;
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
