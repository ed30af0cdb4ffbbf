/**
 * The `tsbuild build` handler for a real build (not `--check`): options → build() inside the session, progress
 * rendering, logs of every step, the failure display and the final summary. Loaded lazily by build.ts.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { TsbuildError, UsageError } from "../../errors.js";
import type { BuildOptions } from "../../build.js";
import type { FetchedContextArg } from "./context-input.js";

export interface BuildCliArgs {
  readonly context: string;
  readonly file?: string;
  readonly "build-arg"?: string | readonly string[];
  readonly target?: string;
  readonly platform?: string;
  readonly tag?: string | readonly string[];
  readonly output?: string | readonly string[];
  readonly push: boolean;
  readonly load: boolean;
  readonly "no-cache": boolean;
  readonly explain?: boolean;
  readonly "no-cache-filter"?: string | readonly string[];
  readonly pull: boolean;
  readonly secret?: string | readonly string[];
  readonly ssh?: string | readonly string[];
  readonly network?: string;
  readonly "add-host"?: string | readonly string[];
  readonly provenance?: string;
  readonly sbom?: string;
  readonly label?: string | readonly string[];
  readonly iidfile?: string;
  readonly "metadata-file"?: string;
  readonly progress: string;
  readonly "build-context"?: string | readonly string[];
  readonly "insecure-registry"?: string | readonly string[];
  readonly "cache-from"?: string | readonly string[];
  readonly "cache-to"?: string | readonly string[];
  readonly root?: string;
  readonly debug: boolean;
  readonly quiet: boolean;
}

const list = (v: string | readonly string[] | undefined): string[] => (v === undefined ? [] : typeof v === "string" ? [v] : [...v]);

/**
 * The Dockerfile from standard input (`-f -`, or `-` as the context: no context). Standard input can be read once:
 * a process that goes on into the session leaves the text in a temp file of the root for it
 * (`TSBUILD_STDIN_DOCKERFILE`), which the session reads and removes.
 */
async function stdinDockerfile(a: BuildCliArgs, env: NodeJS.ProcessEnv): Promise<{ text: string; contextDir: string }> {
  const { readStdinDockerfile, bothStdin } = await import("./dockerfile-input.js");
  if (a.file === "-" && a.context === "-") throw bothStdin();
  const { resolveRoot, rootLayout, tempName } = await import("../../store/index.js");
  const layout = rootLayout(resolveRoot({ root: a.root }));
  let text: string;
  const stashed = env.TSBUILD_STDIN_DOCKERFILE;
  if (stashed) {
    text = await readFile(stashed, "utf8");
    if (env.TSBUILD_SESSION === "1") await rm(stashed, { force: true });
  } else {
    text = await readStdinDockerfile();
    if (env.TSBUILD_SESSION !== "1") {
      await mkdir(layout.tmp, { recursive: true });
      const path = join(layout.tmp, tempName());
      await writeFile(path, text, { mode: 0o600 });
      process.env.TSBUILD_STDIN_DOCKERFILE = path;
    }
  }
  if (a.context !== "-") return { text, contextDir: a.context };
  // No context: one empty directory of the root stands in (only ever read; the same path keeps cache records stable).
  const contextDir = join(layout.cache, "empty-context");
  await mkdir(contextDir, { recursive: true, mode: 0o755 });
  return { text, contextDir };
}

/** Validate and convert CLI flags (usage errors exit 2 before anything runs). */
export async function toBuildOptions(a: BuildCliArgs, env: NodeJS.ProcessEnv): Promise<Omit<BuildOptions, "progress" | "signal">> {
  const { parseBuildArgs } = await import("./dockerfile-input.js");
  const stdin = a.file === "-" || a.context === "-" ? await stdinDockerfile(a, env) : undefined;
  const { parseSecret, parseSsh, parseBuildContext, parseLabels, parseExtraHost } = await import("../../build-options.js");
  const { parseOutputSpecs } = await import("../../exporter/index.js");
  const { parseCacheExportSpec, parseCacheImportSpec } = await import("../../cache/remote/index.js");
  const network = a.network ?? "default";
  if (!["default", "none", "host"].includes(network)) {
    throw new UsageError(`invalid --network ${JSON.stringify(network)}`, { hint: "use default, none or host (rootless builds have no bridge network)" });
  }
  const tags = list(a.tag);
  let outputs = a.output !== undefined ? parseOutputSpecs(list(a.output)) : undefined;
  if (a.load) {
    if (outputs) throw new UsageError("--load cannot be combined with -o/--output", { hint: "use -o type=docker,dest=FILE and load the file yourself" });
    outputs = parseOutputSpecs(["type=docker"]);
  }
  if (a.push && outputs?.some((o) => o.type !== "image")) {
    throw new UsageError("--push cannot be combined with a non-image -o/--output", { hint: "use -o type=image,push=true,name=… or drop --push" });
  }
  if (a.push && tags.length === 0 && !outputs?.some((o) => o.type === "image" && o.names.length > 0)) {
    throw new UsageError("--push needs an image name", { hint: "give -t REGISTRY/NAME:TAG" });
  }
  if (a.push && outputs) outputs = outputs.map((o) => (o.type === "image" ? { ...o, push: true } : o));
  const { sourceDateEpochFor, clampImageOutputs } = await import("./source-date-epoch.js");
  const sourceDateEpoch = sourceDateEpochFor(a.context, env);
  outputs = clampImageOutputs(outputs, list(a.output), sourceDateEpoch);
  return {
    contextDir: stdin?.contextDir ?? a.context,
    ...(stdin ? { dockerfileText: stdin.text, dockerfileName: "Dockerfile" } : a.file !== undefined ? { dockerfile: a.file, dockerfileName: a.file } : {}),
    buildArgs: parseBuildArgs(a["build-arg"], env),
    ...(a.target ? { target: a.target } : {}),
    ...(a.platform ? { platform: a.platform } : {}),
    tags,
    ...(outputs ? { outputs } : {}),
    push: a.push,
    noCache: a["no-cache"],
    ...(a.explain ? { explain: true } : {}),
    noCacheFilter: list(a["no-cache-filter"]).flatMap((s) => s.split(",")).filter(Boolean),
    pull: a.pull,
    secrets: list(a.secret).map((s) => parseSecret(s, env)),
    ssh: parseSsh(list(a.ssh), env),
    network: network as "default" | "none" | "host",
    extraHosts: list(a["add-host"]).map((h) => parseExtraHost(h)),
    labels: parseLabels(list(a.label)),
    ...(a.iidfile ? { iidfile: a.iidfile } : {}),
    ...(a["metadata-file"] ? { metadataFile: a["metadata-file"] } : {}),
    buildContexts: list(a["build-context"]).map((c) => parseBuildContext(c)),
    ...(a.root ? { root: a.root } : {}),
    cacheFrom: list(a["cache-from"]).map((s) => parseCacheImportSpec(s)),
    cacheTo: list(a["cache-to"]).map((s) => parseCacheExportSpec(s)),
    insecureRegistries: [...list(a["insecure-registry"]), ...(env.TSBUILD_INSECURE_REGISTRIES ?? "").split(",").filter(Boolean)],
    ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
  };
}

/** `--provenance`/`--sbom` other than false: accepted (docker buildx scripts pass them), but nothing is attested. */
function attestationWarnings(a: BuildCliArgs): string[] {
  const off = (v: string | undefined): boolean => v === undefined || ["false", "0", ""].includes(v.trim().toLowerCase());
  return (["provenance", "sbom"] as const)
    .filter((k) => !off(a[k]))
    .map((k) => `warning: --${k}=${a[k]}: tsbuild makes no ${k === "sbom" ? "SBOM" : "provenance"} attestation; the image has none\n`);
}

/** Run a build from the CLI. Returns the exit code. */
export async function runBuild(aIn: BuildCliArgs): Promise<number> {
  const { contextArg } = await import("./dockerfile-input.js");
  const a0: BuildCliArgs = { ...aIn, context: contextArg(aIn.context) };
  // A context that is not a directory (an archive on stdin, a URL, git) is fetched once, then built as a directory.
  const { fetchContextArg, fetchNamedContexts } = await import("./context-input.js");
  const fetched = await fetchContextArg(a0, process.env);
  try {
    // Named contexts given as git URLs are cloned here too (before the session, as the main context).
    const named = await fetchNamedContexts(list(a0["build-context"]), a0.root, process.env);
    try {
      return await runBuildIn({ ...a0, "build-context": named.values }, fetched);
    } finally {
      await named.release();
    }
  } finally {
    await fetched?.release();
  }
}

async function runBuildIn(a0: BuildCliArgs, fetched: FetchedContextArg | undefined): Promise<number> {
  const a: BuildCliArgs = fetched ? { ...a0, context: fetched.contextDir, ...(fetched.dockerfile !== undefined ? { file: fetched.dockerfile } : {}) } : a0;
  // A git context's commit time is the default SOURCE_DATE_EPOCH, as for a git checkout given as a directory.
  const env = fetched?.commitTime !== undefined && process.env.SOURCE_DATE_EPOCH === undefined ? { ...process.env, SOURCE_DATE_EPOCH: String(fetched.commitTime) } : process.env;
  const built = await toBuildOptions(a, env);
  const options = fetched ? { ...built, dockerfileName: a0.file === undefined || a0.file === "-" ? "Dockerfile" : a0.file, contextSource: fetched.shown } : built;
  const { parseProgressMode } = await import("../../progress/index.js");
  const mode = parseProgressMode(a.quiet ? "quiet" : a.progress);
  // A fully cached rebuild finishes here, outside the session; anything else builds again inside it.
  const { mayTryCached, tryCachedBuild, outcomeKey, builtInARow, recordOutcome, SKIP_AFTER_BUILT } = await import("./build-fast.js");
  const { resolveRoot } = await import("../../store/index.js");
  const root = resolveRoot({ root: options.root });
  const memoKey = outcomeKey(options, process.cwd());
  const recent = mayTryCached(a, options, process.env) ? ((await builtInARow(root, memoKey)) ?? 0) : SKIP_AFTER_BUILT;
  const cached = recent < SKIP_AFTER_BUILT ? await tryCachedBuild(options) : undefined;
  // Printed by the process that reports the build: this one when cached, else the session's.
  if (cached || process.env.TSBUILD_SESSION === "1") for (const w of attestationWarnings(a)) process.stderr.write(w);
  if (cached && process.env.TSBUILD_STDIN_DOCKERFILE) await rm(process.env.TSBUILD_STDIN_DOCKERFILE, { force: true });
  if (!cached) {
    const { ensureSession } = await import("../../executor/index.js");
    const outcome = await ensureSession(process.argv.slice(1));
    if (!outcome.inside) {
      // The session read (and removed) the stashed standard input; a session that failed early may not have.
      if (process.env.TSBUILD_STDIN_DOCKERFILE) await rm(process.env.TSBUILD_STDIN_DOCKERFILE, { force: true });
      return outcome.exitCode;
    }
  }

  const [{ build }, progressRoom, { renderError }] = await Promise.all([
    import("../../build.js"),
    import("../../progress/index.js"),
    import("../render-error.js"),
  ]);
  const { createRenderer, createLogFiles, LogRing, teeProgress } = progressRoom;
  const logDir = join(root, "logs", new Date().toISOString().replace(/[:.]/g, "-") + `-${process.pid}`);
  const renderer = await createRenderer(mode, {
    stderr: process.stderr,
    env: process.env,
    isTTY: process.stderr.isTTY === true,
    signals: process,
  });
  const ring = new LogRing();
  const files = createLogFiles(logDir);
  const ac = new AbortController();
  const onSignal = (): void => ac.abort(new Error("interrupted"));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const started = cached?.started ?? Date.now();
  const dockerfilePath = options.dockerfile ?? join(options.contextDir, "Dockerfile");
  const dockerfileText = options.dockerfileText ?? (await readFile(dockerfilePath, "utf8").catch(() => undefined));
  try {
    const progress = teeProgress(renderer.write, ring.write, files.write);
    if (cached) for (const e of cached.events) progress(e);
    const result = cached?.result ?? await build({
      ...options,
      ...(dockerfileText !== undefined ? { dockerfileText } : {}),
      progress, signal: ac.signal, stdout: process.stdout });
    if (!options.noCache && (options.noCacheFilter?.length ?? 0) === 0) await recordOutcome(root, memoKey, result);
    renderer.summary({
      ...(result.imageId ? { digest: result.imageId } : {}),
      tags: result.names,
      durationMs: Date.now() - started,
    });
    renderer.close();
    if (result.explain) {
      const { formatMisses } = await import("../../solver/index.js");
      process.stderr.write(formatMisses(result.explain.misses, result.explain.record));
    }
    if (a.load && result.manifest && result.imageId) {
      const { loadIntoDocker } = await import("./docker-load.js");
      await loadIntoDocker({ root, manifest: result.manifest, names: result.names, imageId: result.imageId }, process.stderr);
    }
    if (a.quiet && result.imageId) process.stdout.write(`${result.imageId}\n`);
    return 0;
  } catch (caught) {
    renderer.close();
    // Interrupted outside the solver (exporting, pushing): whatever the aborted operation threw, it is a cancellation.
    const err = ac.signal.aborted && !(caught instanceof TsbuildError && caught.code === "TSB_CANCELLED")
      ? new TsbuildError("TSB_CANCELLED", "build cancelled", { cause: caught })
      : caught;
    return renderError(err, {
      debug: a.debug,
      stderr: process.stderr,
      logs: ring,
      logPath: (d: string) => files.pathFor(d),
      contextDir: resolve(options.contextDir),
      ...(dockerfileText !== undefined ? { dockerfile: { filename: options.dockerfileName ?? "Dockerfile", text: dockerfileText } } : {}),
    });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    files.close();
  }
}
