/**
 * What every dispatcher shares: the compile-wide context, word expansion with UndefinedVar reporting, progress
 * names (BuildKit prefixCommand) and path helpers.
 */
import { posix } from "node:path";
import type { SourceRange } from "../errors.js";
import { createVertex, type Edge, type GraphPlatform, type ProxyEnv } from "../graph/index.js";
import { expandWordWithMatches, type ExpandOptions } from "../parser/index.js";
import type { Instruction } from "../parser/index.js";
import { suggest } from "../util/suggest.js";
import type { Linter } from "./lint/linter.js";
import { UndefinedVar } from "./lint/rules.js";
import type { DispatchState } from "./stage-state.js";
import type { CompileOptions } from "./types.js";

/**
 * Build-arg names that configure proxies (any case): passed to every RUN without an ARG, in both cases, over ENV
 * values of the same names, and kept out of cache keys (Docker 20.10's BuildKit: proxyEnvFromBuildArgs; ALL_PROXY
 * came later). Declared with ARG, they are also ordinary ARGs (history, environment).
 */
export const PROXY_ARGS = ["HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY"] as const;

export function isProxyArg(key: string): boolean {
  return (PROXY_ARGS as readonly string[]).includes(key.toUpperCase());
}

export interface DispatchContext {
  readonly opts: CompileOptions;
  readonly escape: "\\" | "`";
  readonly lint: Linter;
  readonly globalArgs: ReadonlyMap<string, string>;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly proxyEnv: ProxyEnv | undefined;
  readonly targetPlatform: GraphPlatform;
  readonly filename: string;
  /** The main build context (one local source vertex, created on first use). */
  context(): Edge;
  /** Dispatch states by lower-case name, in Dockerfile order. */
  readonly states: readonly DispatchState[];
}

/** Expand one word with the stage env, reporting undefined variables (not declared ARGs) as UndefinedVar. */
export function expandFor(
  ctx: DispatchContext,
  d: DispatchState,
  lint: Linter,
  ranges: readonly SourceRange[],
  word: string,
  options: ExpandOptions = {},
): string {
  if (!NEEDS_EXPANSION.test(word)) return word;
  const r = expandWordWithMatches(word, d.env, { escape: ctx.escape, ...options });
  if (r.unmatched.size > 0) reportUndefined(d, lint, ranges, r.unmatched);
  return r.result;
}

export function reportUndefined(d: DispatchState, lint: Linter, ranges: readonly SourceRange[], unmatched: Iterable<string>): void {
  const declared = new Set(d.buildArgs.map((a) => a.key));
  const keys = [...d.env.keys()];
  for (const name of unmatched) {
    if (declared.has(name)) continue;
    lint.run(UndefinedVar, ranges, name, suggest(name, keys) ?? "");
  }
}

/** BuildKit's progress name: `[stage-1 2/5] RUN make` (no prefix when the stage has no steps counted). */
export function prefixCommand(d: DispatchState, text: string): string {
  if (d.cmdTotal === 0) return text;
  d.cmdIndex++;
  const width = 1 + Math.floor(Math.log10(d.cmdTotal));
  const stage = d.stageName !== "" ? `${d.stageName} ` : "";
  return `[${stage}${String(d.cmdIndex).padStart(width)}/${d.cmdTotal}] ${d.cmdIsOnBuild ? "ONBUILD " : ""}${text}`;
}

/** The instruction line with variables expanded and the keyword upper-cased (progress names). */
export function displayLine(ctx: DispatchContext, d: DispatchState, original: string, env: ReadonlyMap<string, string> = d.env): string {
  let s = original;
  if (!original.includes("$")) return upperKeyword(s);
  try {
    s = expandWordWithMatches(original, env, { escape: ctx.escape, rawQuotes: true, skipUnsetEnv: true }).result;
  } catch {
    // keep the raw line, as BuildKit does
  }
  return upperKeyword(s);
}

function upperKeyword(s: string): string {
  const sp = s.indexOf(" ");
  return sp < 0 ? s.toUpperCase() : s.slice(0, sp).toUpperCase() + s.slice(sp);
}

/** Words without `$`, quotes or escape characters expand to themselves: skip the lexer (hot path). */
const NEEDS_EXPANSION = /[$'"\\`]/;

/**
 * Resolve a COPY/ADD destination against the working directory, keeping a trailing slash (a directory destination).
 * As Docker 20.10's BuildKit, only a written trailing `/` or a bare `.` mean a directory: `/d/.` cleans to `/d`,
 * a file destination when `/d` does not exist.
 */
export function pathRelativeToWorkingDir(cwd: string, p: string): string {
  if (p === "." || p === "") p = "./";
  const keepSlash = p.endsWith("/");
  let out = posix.isAbsolute(p) ? posix.normalize(p) : posix.join("/", cwd, p);
  if (out.length > 1 && out.endsWith("/")) out = out.slice(0, -1);
  if (keepSlash && !out.endsWith("/")) out += "/";
  return out;
}

/** WORKDIR resolution (BuildKit NormalizeWorkdir): relative paths chain on the current one. */
export function normalizeWorkdir(current: string, requested: string): string {
  if (requested === "") return current === "" ? "/" : current;
  return posix.normalize(posix.isAbsolute(requested) ? requested : posix.join("/", current || "/", requested)).replace(/(.)\/$/, "$1");
}

/** Location fields for vertex options. */
export function vertexSource(ctx: DispatchContext, ranges: readonly SourceRange[]): { source: readonly SourceRange[]; filename: string } {
  return { source: ranges, filename: ctx.filename };
}

/** Create the main context vertex. */
export function contextVertex(name: string): Edge {
  return { vertex: createVertex({ kind: "source", source: { type: "local", name } }, [], { name: `[internal] load build context` }), output: 0 };
}

/** Human name of an instruction for messages (`COPY`). */
export function keywordOf(ins: Instruction): string {
  return ins.kind.toUpperCase();
}
