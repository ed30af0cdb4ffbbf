/**
 * Text-level entry points: parse + type + compile (`compileText`), and the build checks (`checkDockerfile`) that
 * `tsbuild build --check` runs without pulling anything.
 */
import { type SourceRange, TsbuildError } from "../errors.js";
import { parseDockerfile } from "../parser/index.js";
import type { Ast, Instruction } from "../parser/index.js";
import { toDockerfile } from "../parser/index.js";
import { compile } from "./compile.js";
import { FrontendError } from "./errors.js";
import { defaultCheckConfig, Linter, parseCheckConfig } from "./lint/linter.js";
import { runStaticChecks } from "./lint/static-checks.js";
import type { CheckConfig, LintFinding } from "./lint/types.js";
import { hostPlatform, platformArgs } from "./platform.js";
import type { CompileOptions, CompileResult, ImageMetaResolver } from "./types.js";

/** Options of {@link compileText}: like compile's, with the Dockerfile text given. */
export type CompileTextOptions = Omit<CompileOptions, "text">;

function parseTrigger(text: string, at: readonly SourceRange[]): Instruction {
  const df = toDockerfile(parseDockerfile(`FROM scratch\n${text}\n`, { filename: "ONBUILD" }));
  const ins = df.stages[0]?.instructions;
  if (!ins || ins.length !== 1) throw new FrontendError("TSB_FRONTEND_BAD_ONBUILD", `onbuild trigger should be a single expression: ${JSON.stringify(text)}`);
  return { ...ins[0]!, source: at } as Instruction;
}

/** The `# check=…` directive of a parsed Dockerfile, or the default configuration. */
function checkDirective(ast: Ast): CheckConfig {
  const d = ast.directives.find((x) => x.name.toLowerCase() === "check");
  return d ? parseCheckConfig(d.value) : defaultCheckConfig;
}

/** Parse, type and compile a Dockerfile given as text. */
export async function compileText(text: string, opts: CompileTextOptions): Promise<CompileResult> {
  const filename = opts.filename ?? "Dockerfile";
  // Parsed once: the directives and the instructions come from the same AST.
  const ast = parseDockerfile(text, { filename });
  const df = toDockerfile(ast);
  return compile(df, { ...opts, filename, text }, { parseTrigger, checkConfig: checkDirective(ast) });
}

export interface CheckOptions {
  readonly filename?: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly target?: string;
  /** `.dockerignore` predicate for CopyIgnoredFile. */
  readonly isIgnored?: (path: string) => boolean;
}

export interface CheckResult {
  readonly findings: readonly LintFinding[];
  /** True when a finding has level `error` (`# check=error=true`). */
  readonly failed: boolean;
  /** A parse or compile error found while checking (findings up to it are kept). */
  readonly error?: TsbuildError;
}

/** Resolver for checks: every base image is an empty linux image, so nothing is pulled. */
const offlineResolver: ImageMetaResolver = {
  resolve: async (ref, platform) => ({ ref, config: { architecture: platform.architecture, os: platform.os, rootfs: { type: "layers", diff_ids: [] }, config: {} } }),
};

/**
 * Resolver that never looks anything up: the reference stays as written (normalized, no digest) and the config
 * is an empty linux image with one unresolved layer. For `tsbuild graph` without registry access.
 */
export const unresolvedImageResolver: ImageMetaResolver = {
  resolve: async (ref, platform) => ({
    ref,
    config: {
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      rootfs: { type: "layers", diff_ids: [] },
      config: {},
      history: [{ created_by: "base image (not resolved)" }],
    },
  }),
};

/** Run every build check on a Dockerfile (BuildKit's `--check`): static rules, then a compile of all stages. */
export async function checkDockerfile(text: string, opts: CheckOptions = {}): Promise<CheckResult> {
  const filename = opts.filename ?? "Dockerfile";
  const findings: LintFinding[] = [];
  const sink = (f: LintFinding): void => {
    findings.push(f);
  };
  const done = (error?: TsbuildError): CheckResult => {
    findings.sort((a, b) => (a.ranges[0]?.start.line ?? 0) - (b.ranges[0]?.start.line ?? 0));
    return { findings, failed: findings.some((f) => f.level === "error"), ...(error ? { error } : {}) };
  };
  let config: CheckConfig;
  try {
    const ast = parseDockerfile(text, { filename });
    config = checkDirective(ast);
    const p = hostPlatform();
    runStaticChecks(ast, new Linter(config, sink), new Map(platformArgs(p, p)));
    const df = toDockerfile(ast);
    await compile(
      df,
      {
        resolver: offlineResolver,
        filename,
        text,
        onFinding: sink,
        ...(opts.buildArgs ? { buildArgs: opts.buildArgs } : {}),
        ...(opts.target ? { target: opts.target } : {}),
        ...(opts.isIgnored ? { isIgnored: opts.isIgnored } : {}),
      },
      { checkConfig: config, allStages: true, parseTrigger },
    );
  } catch (err) {
    if (err instanceof TsbuildError) return done(err);
    throw err;
  }
  return done();
}
