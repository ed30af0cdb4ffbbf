/**
 * Dockerfile → build graph + image config (BuildKit dockerfile2llb/convert.go): stage table, global ARGs, --target
 * pruning, stage dependency graph with cycle detection, base-image resolution through the injected resolver,
 * ONBUILD triggers, then dispatch of every needed stage in Dockerfile order.
 */
import { type SourceRange, TsbuildError, withLocation } from "../errors.js";
import { buildGraph, createVertex, type Edge, type GraphPlatform, type ProxyEnv } from "../graph/index.js";
import { parseReference } from "../image/index.js";
import { expandWordWithMatches } from "../parser/index.js";
import type { Dockerfile, Instruction, Stage } from "../parser/index.js";
import { suggest } from "../util/suggest.js";
import { contextVertex, type DispatchContext, isProxyArg, prefixCommand, PROXY_ARGS } from "./dispatch-common.js";
import { dispatchCopy } from "./dispatch-copy.js";
import { dispatchMeta, dispatchWorkdir } from "./dispatch-meta.js";
import { dispatchRun } from "./dispatch-run.js";
import { FrontendError } from "./errors.js";
import { defaultCheckConfig, Linter } from "./lint/linter.js";
import { UndefinedArgInFrom } from "./lint/rules.js";
import type { CheckConfig, LintFinding } from "./lint/types.js";
import { parsePlatform, hostPlatform, platformArgs } from "./platform.js";
import { mountFrom } from "./run-mounts.js";
import { resolveBase, toImageConfig } from "./resolve-base.js";
import { cloneImage, DEFAULT_PATH, emptyImage, newState, type DispatchState } from "./stage-state.js";
import type { CompiledStage, CompileOptions, CompileResult } from "./types.js";

/** Extra options used by `--check` and tests. */
export interface CompileInternals {
  readonly checkConfig?: CheckConfig;
  /** Parses an ONBUILD trigger string of a base image into an instruction. */
  readonly parseTrigger?: (text: string, at: readonly SourceRange[]) => Instruction;
  /** Dispatch every stage, not only those the target needs (build checks, BuildKit AllStages). */
  readonly allStages?: boolean;
}

function located<E>(fn: () => E, ctxFilename: string, text: string | undefined, ranges: readonly SourceRange[]): E {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TsbuildError) throw withLocation(err, { filename: ctxFilename, ranges, ...(text !== undefined ? { text } : {}) });
    throw err;
  }
}

/** Global (meta) ARGs: platform ARGs, then each ARG before the first FROM (build args win over defaults). */
function buildMetaArgs(df: Dockerfile, buildArgs: Readonly<Record<string, string>>, target: GraphPlatform, build: GraphPlatform, escape: "\\" | "`"): Map<string, string> {
  const env = new Map<string, string>(platformArgs(target, build));
  for (const ins of df.metaArgs) {
    for (const a of ins.args) {
      if (Object.hasOwn(buildArgs, a.key)) env.set(a.key, buildArgs[a.key]!);
      else if (a.value !== undefined) env.set(a.key, expandWordWithMatches(a.value, env, { escape }).result);
      // Docker 20.10's BuildKit: a global `ARG TARGETOS` without default and without --build-arg shadows the
      // automatic value with an unset one (a stage's `ARG TARGETOS` then gets "", and FROM sees it unset).
      else env.delete(a.key);
    }
  }
  return env;
}

/**
 * Compile a typed Dockerfile into a build graph and the target's image config.
 * @throws FrontendError (with the Dockerfile location) for unknown stages, cycles, bad values; resolver errors pass through.
 */
export async function compile(df: Dockerfile, opts: CompileOptions, internals: CompileInternals = {}): Promise<CompileResult> {
  const filename = opts.filename ?? "Dockerfile";
  const findings: LintFinding[] = [];
  const lint = new Linter(internals.checkConfig ?? defaultCheckConfig, (f) => {
    findings.push(f);
    opts.onFinding?.(f);
  });
  const targetPlatform = opts.targetPlatform ?? hostPlatform();
  const buildPlatform = opts.buildPlatform ?? hostPlatform();
  const buildArgs = opts.buildArgs ?? {};
  const escape = df.escape;
  const at = <E>(ranges: readonly SourceRange[], fn: () => E): E => located(fn, filename, opts.text, ranges);
  if (df.stages.length === 0) throw new FrontendError("TSB_FRONTEND_NO_STAGES", `${filename} has no FROM instruction`, { hint: "start the Dockerfile with FROM <image>" });

  const globalArgs = buildMetaArgs(df, buildArgs, targetPlatform, buildPlatform, escape);
  const declaredMeta = new Set([...globalArgs.keys(), ...df.metaArgs.flatMap((i) => i.args.map((a) => a.key))]);
  const proxy: Record<string, string> = {};
  for (const k of Object.keys(buildArgs).sort()) if (isProxyArg(k)) proxy[k.toUpperCase()] = buildArgs[k]!;
  let ctxEdge: Edge | undefined;
  const states: DispatchState[] = [];
  const byName = new Map<string, DispatchState>();
  const ctx: DispatchContext = {
    opts, escape, lint, globalArgs, buildArgs, targetPlatform, filename, states,
    proxyEnv: Object.keys(proxy).length > 0 ? (proxy as ProxyEnv) : undefined,
    context: () => (ctxEdge ??= contextVertex(opts.contextName ?? "context")),
  };
  void PROXY_ARGS;

  // 1. Stage table: expand FROM words and --platform with the global ARGs.
  const imageContexts = new Set((opts.imageContexts ?? []).map((n) => n.toLowerCase()));
  for (const original of df.stages) {
    // A stage named like an image context is that image: FROM NAME (resolved through the resolver), no instructions.
    const replaced = original.name !== undefined && (imageContexts.has(original.name.toLowerCase()) || localContextName(opts.namedContexts, original.name) !== undefined);
    const st: Stage = replaced ? { ...original, baseName: original.name!.toLowerCase(), instructions: [] } : original;
    const sl = lint.withComments(st.comments);
    const d = newState(st);
    at(st.source, () => {
      const r = expandWordWithMatches(st.baseName, globalArgs, { escape });
      for (const u of r.unmatched) if (!declaredMeta.has(u)) sl.run(UndefinedArgInFrom, st.source, u, suggest(u, [...declaredMeta]) ?? "");
      if (r.result === "") throw new FrontendError("TSB_FRONTEND_BLANK_BASE", `base name (${st.baseName}) should not be blank`, { hint: "give the ARG used in FROM a default or pass --build-arg" });
      d.baseName = r.result;
      if (st.platform !== undefined) {
        const p = expandWordWithMatches(st.platform, globalArgs, { escape });
        for (const u of p.unmatched) if (!declaredMeta.has(u)) sl.run(UndefinedArgInFrom, st.source, u, suggest(u, [...declaredMeta]) ?? "");
        if (p.result === "") throw new FrontendError("TSB_FRONTEND_BAD_PLATFORM", `empty platform value from expression ${st.platform}`);
        d.platform = parsePlatform(p.result);
      }
    });
    if (st.name === undefined) d.stageName = `stage-${st.index}`;
    const base = byName.get(d.baseName.toLowerCase());
    if (base) d.base = base;
    const local = base ? undefined : localContextName(opts.namedContexts, d.baseName);
    if (!base && httpContextUrl(opts.httpContexts, d.baseName) !== undefined) {
      throw withLocation(new FrontendError("TSB_FRONTEND_BAD_FROM", `FROM ${d.baseName}: the named context ${JSON.stringify(d.baseName)} is an http(s) URL, a single file, not an image`, {
        hint: `read it with COPY --from=${d.baseName} or RUN --mount=from=${d.baseName}; FROM needs a directory, git or image context`,
      }), { filename, ranges: st.source });
    }
    if (local !== undefined) fromLocalContext(d, local, targetPlatform, filename);
    states.push(d);
    if (st.name !== undefined) byName.set(st.name.toLowerCase(), d);
    d.cmdTotal = (d.baseName !== "scratch" && !d.base ? 1 : 0) + st.instructions.filter((i) => i.kind === "run" || i.kind === "copy" || i.kind === "add" || i.kind === "workdir").length;
  }

  // 2. Target.
  let target = states[states.length - 1]!;
  if (opts.target !== undefined && opts.target !== "") {
    const t = byName.get(opts.target.toLowerCase());
    if (!t) {
      const s = suggest(opts.target, [...byName.keys()]);
      throw new FrontendError("TSB_FRONTEND_UNKNOWN_TARGET", `target stage ${JSON.stringify(opts.target)} could not be found`, {
        hint: s ? `did you mean ${s}?` : byName.size > 0 ? `stages: ${[...byName.keys()].join(", ")}` : "name a stage with FROM <image> AS <name>",
      });
    }
    target = t;
  }

  // 3. Dependency graph (COPY --from, RUN --mount from=), cycle check.
  const lookup = (from: string, ranges: readonly SourceRange[], what: string): DispatchState =>
    at(ranges, () => {
      if (/^[0-9]+$/.test(from)) {
        const s = states[Number(from)];
        if (!s || s.unregistered) throw new FrontendError("TSB_FRONTEND_UNKNOWN_STAGE", `invalid stage index ${from}`, { hint: `stage indexes go from 0 to ${df.stages.length - 1}` });
        return s;
      }
      const named = byName.get(from.toLowerCase());
      if (named) return named;
      const url = httpContextUrl(opts.httpContexts, from);
      if (url !== undefined) {
        const http = createVertex({ kind: "source", source: { type: "http", url } }, [], { name: `[context ${from}] ${url}` });
        const state = newState({ baseName: from, index: -1, instructions: [], source: ranges, original: "", keywordRaw: "FROM", comments: [] } as Stage, true);
        Object.assign(state, { stageName: "", cmdTotal: 0, resolved: true, dispatched: true, platform: targetPlatform, root: { vertex: http, output: 0 } });
        states.push(state);
        return state;
      }
      if (opts.namedContexts?.includes(from)) {
        const local = newState({ baseName: from, index: -1, instructions: [], source: ranges, original: "", keywordRaw: "FROM", comments: [] } as Stage, true);
        Object.assign(local, { stageName: "", cmdTotal: 0, resolved: true, dispatched: true, platform: targetPlatform, root: contextVertex(from) });
        states.push(local);
        return local;
      }
      try {
        parseReference(from);
      } catch {
        const s = suggest(from, [...byName.keys()]);
        throw new FrontendError("TSB_FRONTEND_UNKNOWN_STAGE", `${what} refers to unknown stage ${JSON.stringify(from)}`, {
          hint: s ? `did you mean ${s}?` : "use the name of an earlier stage (FROM … AS name), its index, or an image reference",
        });
      }
      const pseudo = newState({ baseName: from, index: -1, instructions: [], source: ranges, original: "", keywordRaw: "FROM", comments: [] } as Stage, true);
      pseudo.stageName = "";
      pseudo.cmdTotal = 0;
      states.push(pseudo);
      return pseudo;
    });
  const toCommand = (d: DispatchState, ins: Instruction, onbuild: boolean): DispatchState["commands"][number] => {
    const sources: DispatchState[] = [];
    if (ins.kind === "copy" && ins.from !== undefined) {
      const r = expandWordWithMatches(ins.from, new Map(), { escape });
      if (r.result !== ins.from) {
        throw withLocation(new FrontendError("TSB_FRONTEND_FROM_EXPANSION", "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround"), { filename, ranges: ins.source });
      }
      sources.push(lookup(ins.from, ins.source, "COPY --from"));
    }
    if (ins.kind === "run") {
      ins.mounts.forEach((raw, i) => {
        const from = at(ins.source, () => mountFrom(raw));
        if (from !== undefined && from !== "") sources[i] = lookup(from, ins.source, "RUN --mount from");
      });
    }
    for (const s of sources) if (s) d.deps.set(s, ins.source);
    return { ins, onbuild, sources };
  };
  for (const d of [...states]) d.commands = d.stage.instructions.map((i) => toCommand(d, i, false));
  checkCycles(states, filename, opts.text);
  if (states.filter((s) => !s.unregistered).length === 1) states[0]!.stageName = "";

  // 4. Resolve base images of reachable stages; add ONBUILD triggers (which may add dependencies) until stable.
  let reachable: Set<DispatchState>;
  for (;;) {
    reachable = internals.allStages ? new Set(states) : reachableFrom(target);
    await Promise.all(
      [...reachable].filter((d) => !d.base && !d.resolved).map(async (d) => {
        d.resolved = true;
        await resolveBase(d, opts.resolver, targetPlatform, filename, opts.text);
      }),
    );
    let newDeps = false;
    for (const d of reachable) {
      if (d.onBuildInit) continue;
      d.onBuildInit = true;
      const triggers: { ins: Instruction }[] = d.base
        ? d.base.stage.instructions.filter((i) => i.kind === "onbuild").map((i) => ({ ins: i.trigger }))
        : (d.image.onBuild ?? []).map((t) => {
            if (!internals.parseTrigger) throw withLocation(new FrontendError("TSB_FRONTEND_UNSUPPORTED", `base image ${d.baseName} has ONBUILD triggers, which cannot be parsed here`), { filename, ranges: d.stage.source });
            return { ins: at(d.stage.source, () => internals.parseTrigger!(t, d.stage.source)) };
          });
      if (triggers.length === 0) continue;
      const cmds = triggers.map((t) => toCommand(d, t.ins, true));
      if (cmds.some((c) => c.sources.length > 0)) newDeps = true;
      d.commands = [...cmds, ...d.commands];
      d.cmdTotal += cmds.length;
      d.image.onBuild = null;
    }
    if (!newDeps) break;
    checkCycles(states, filename, opts.text);
  }

  // 5. Dispatch in Dockerfile order (a stage only uses earlier ones).
  for (const d of states) {
    if (!reachable.has(d) || d.dispatched) continue;
    if (d.base) {
      const b = d.base;
      d.root = b.root;
      d.platform = b.platform;
      d.image = cloneImage(b.image);
      d.image.onBuild = null;
      d.env = new Map(b.env);
      d.cwd = b.cwd;
      d.user = b.user;
      d.workdirSet = b.workdirSet;
      // The parent's ARG values stay in the environment (RUN sees them), but its declarations do not carry over:
      // Docker's `RUN |n …` history lists only the ARGs declared in this stage.
      d.buildArgs = [];
    }
    d.dispatched = true;
    d.platform ??= targetPlatform;
    if (d.image.os !== "windows" && !d.image.env.some((e) => e.startsWith("PATH="))) d.image.env.push(`PATH=${DEFAULT_PATH}`);
    for (const e of d.image.env) {
      const i = e.indexOf("=");
      d.env.set(i < 0 ? e : e.slice(0, i), i < 0 ? "" : e.slice(i + 1));
    }
    if (d.image.workingDir) dispatchWorkdir(ctx, d, d.image.workingDir, false);
    if (d.image.user) d.user = d.image.user;
    for (const cmd of d.commands) {
      const cl = lint.withComments(cmd.ins.comments);
      d.cmdIsOnBuild = cmd.onbuild;
      at(cmd.ins.source, () => {
        switch (cmd.ins.kind) {
          case "run":
            return dispatchRun(ctx, d, cmd.ins, cl, cmd.sources);
          case "copy":
          case "add":
            return dispatchCopy(ctx, d, cmd.ins, cl, cmd.sources[0]);
          default:
            return dispatchMeta(ctx, d, cmd.ins, cl);
        }
      });
    }
  }

  const compiled = (d: DispatchState): CompiledStage => ({
    name: d.stage.name ?? `stage-${d.stage.index}`,
    index: d.stage.index,
    root: d.root,
    image: toImageConfig(d.image),
    platform: d.platform ?? targetPlatform,
    source: d.stage.source,
  });
  const stages = states.filter((d) => d.dispatched && !d.unregistered).map(compiled);
  const t = stages.find((s) => s.index === target.stage.index)!;
  return { graph: buildGraph(target.root), root: target.root, image: t.image, stages, target: t, findings };
}

function reachableFrom(target: DispatchState): Set<DispatchState> {
  const seen = new Set<DispatchState>();
  const stack = [target];
  while (stack.length > 0) {
    const d = stack.pop()!;
    if (seen.has(d)) continue;
    seen.add(d);
    if (d.base) stack.push(d.base);
    for (const dep of d.deps.keys()) stack.push(dep);
  }
  return seen;
}

function checkCycles(states: readonly DispatchState[], filename: string, text: string | undefined): void {
  const done = new Set<DispatchState>();
  const onPath = new Set<DispatchState>();
  const visit = (d: DispatchState): readonly SourceRange[] | undefined => {
    if (done.has(d)) return undefined;
    onPath.add(d);
    const edges: [DispatchState, readonly SourceRange[]][] = [...d.deps];
    if (d.base) edges.push([d.base, d.stage.source]);
    for (const [dep, ranges] of edges) {
      if (onPath.has(dep)) return ranges;
      const r = visit(dep);
      if (r) return r;
    }
    onPath.delete(d);
    done.add(d);
    return undefined;
  };
  for (const d of states) {
    const ranges = visit(d);
    if (ranges) {
      throw new FrontendError("TSB_FRONTEND_CIRCULAR", `circular dependency detected on stage: ${d.stage.name ?? `stage-${d.stage.index}`}`, {
        hint: "a stage cannot COPY --from or mount a stage that depends on it",
        location: { filename, ranges, ...(text !== undefined ? { text } : {}) },
      });
    }
    onPath.clear();
  }
}

/** The `--build-context NAME=DIR` named like `word` (FROM and stage names match case-insensitively). */
function httpContextUrl(contexts: ReadonlyMap<string, string> | undefined, word: string): string | undefined {
  for (const [name, url] of contexts ?? []) if (name.toLowerCase() === word.toLowerCase()) return url;
  return undefined;
}

function localContextName(names: readonly string[] | undefined, word: string): string | undefined {
  return names?.find((n) => n.toLowerCase() === word.toLowerCase());
}

/**
 * `FROM NAME` where NAME is a local named context: as in BuildKit, an image with no config whose root filesystem is
 * the directory (its files copied onto scratch, the context's .dockerignore applied).
 */
function fromLocalContext(d: DispatchState, name: string, target: GraphPlatform, filename: string): void {
  d.platform ??= target;
  d.image = emptyImage(d.platform);
  d.isScratch = false;
  d.resolved = true;
  const copy = { action: "copy", src: 0, srcPath: "/", dest: "/", followSymlinks: true, dirContents: true, allowWildcard: false, allowEmptyWildcard: false, createDestPath: true } as const;
  d.root = {
    vertex: createVertex({ kind: "file", base: null, actions: [copy] }, [contextVertex(name)], {
      name: prefixCommand(d, `FROM ${name}`),
      source: d.stage.source,
      filename,
      description: { "com.docker.dockerfile.v1.command": d.stage.original },
    }),
    output: 0,
  };
}
