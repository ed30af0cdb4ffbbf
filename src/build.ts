/**
 * The composition root: the only place that instantiates the concrete store, snapshotter, sandbox, registry and
 * contexts and wires them into the frontend, solver, ops and exporter. Runs as session root (the CLI enters the
 * session first). `build()` is the public Node API behind `tsbuild build`.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { TsbuildError, UsageError } from "./errors.js";
import type { Digest } from "./util/digest.js";
import { BuildLease, EMPTY_REF, LeasedRefManager, type BuildRef } from "./cache/index.js";
import { SharedCache, type CacheExportSpec, type CacheImportSpec, type SharedCacheStore } from "./cache/remote/index.js";
import { openContext, type BuildContext } from "./context/index.js";
import { createSandbox, currentSession } from "./executor/index.js";
import { buildMetadata, defaultCompression, exportOutputs, writeIidFile, writeMetadataFile, type ExportResult, type OutputSpec } from "./exporter/index.js";
import { compileText, parsePlatform, type CompileResult } from "./frontend/index.js";
import { openImageStore, parseReference, type Descriptor } from "./image/index.js";
import { asImageMetaResolver, createFileOp, createImageResolver, createOpCacheStore, createOpResolver, toSolverGraph, type GraphSolverVertex, type ImageContextSource, type OpDeps, type OpResult, type SecretSource, type SshSource } from "./ops/index.js";
import { noProgress, type ProgressSink } from "./progress/events.js";
import { openRegistry, type Registry } from "./registry/index.js";
import { createSnapshotter, lstatDir, SessionlessSnapshotter } from "./snapshot/index.js";
import { explainMisses, solve, type BuildRecord, type MissExplanation, type VertexOutcome } from "./solver/index.js";
import { openContentStore, reapRootTemps, resolveRoot, rootLayout } from "./store/index.js";
import { loadBuildRecords, makeBuildRecord, saveBuildRecord, withContextFiles } from "./build-records.js";
import type { NamedContext } from "./build-options.js";
import type { ExtraHost, Vertex } from "./graph/index.js";

export interface BuildOptions {
  /** The build context directory. */
  readonly contextDir: string;
  /**
   * Where the context came from when `contextDir` is a scratch copy (`-`, a URL or git remote without credentials):
   * build records are kept under it, and no file index or memo is kept for the throw-away directory.
   */
  readonly contextSource?: string;
  /** Path of the Dockerfile. @default CONTEXT/Dockerfile */
  readonly dockerfile?: string;
  /** The Dockerfile text (read from `dockerfile` when absent). */
  readonly dockerfileText?: string;
  /** Name used in messages. @default the path as given, or "Dockerfile" */
  readonly dockerfileName?: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly target?: string;
  /** `os/arch[/variant]`. @default the host platform */
  readonly platform?: string;
  /** `-t` names. */
  readonly tags?: readonly string[];
  /** `-o` outputs; default: store the image locally under `tags` (and push with `push`). */
  readonly outputs?: readonly OutputSpec[];
  readonly push?: boolean;
  readonly noCache?: boolean;
  /** Stage names whose steps ignore the cache. */
  readonly noCacheFilter?: readonly string[];
  /** Always resolve base images in the registry. */
  readonly pull?: boolean;
  readonly secrets?: readonly SecretSource[];
  /** ssh agents for RUN --mount=type=ssh (`--ssh`), by id. */
  readonly ssh?: readonly SshSource[];
  /** Default network of RUN steps. */
  readonly network?: "default" | "none" | "host";
  /** /etc/hosts entries of every RUN (`--add-host NAME:IP`). */
  readonly extraHosts?: readonly ExtraHost[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly iidfile?: string;
  readonly metadataFile?: string;
  readonly buildContexts?: readonly NamedContext[];
  /** tsbuild root. @default resolveRoot() */
  readonly root?: string;
  readonly insecureRegistries?: readonly string[];
  readonly sourceDateEpoch?: number;
  readonly progress?: ProgressSink;
  readonly signal?: AbortSignal;
  /** Where outputs with `dest=-` write. */
  readonly stdout?: NodeJS.WritableStream;
  /** Compare with the previous build of this Dockerfile and context, and say why steps missed the cache. */
  readonly explain?: boolean;
  /** `--cache-from`: shared caches to import (lazily); unreachable ones are warnings. */
  readonly cacheFrom?: readonly CacheImportSpec[];
  /** `--cache-to`: where to export this build's cache. */
  readonly cacheTo?: readonly CacheExportSpec[];
  /**
   * Run outside the session: snapshots are only looked up and no step may run, so only a fully cached build whose
   * layers are already exported succeeds; anything else rejects (then build again inside the session). Used by the
   * CLI to finish cached rebuilds without re-executing itself. @default false
   */
  readonly sessionless?: boolean;
}

export interface BuildResult {
  /** Image id: the config digest (what `--iidfile` holds), when an image was produced. */
  readonly imageId?: Digest;
  /** The image manifest descriptor, when an image was produced. */
  readonly manifest?: Descriptor;
  /** Names the image was stored or pushed as. */
  readonly names: readonly string[];
  readonly pushed: readonly { readonly name: string; readonly digest: Digest }[];
  readonly exports: ExportResult;
  /** Every step of the build with its cache key and whether it was cached. */
  readonly steps: readonly VertexOutcome[];
  /** Steps that ran (not cached), build-context loads aside: 0 for a fully cached build. */
  readonly ran: number;
  readonly compiled: CompileResult;
  /** With `explain`: why each step missed the cache, and the record of this build. */
  readonly explain?: { readonly misses: readonly MissExplanation[]; readonly record: BuildRecord };
}

/**
 * The most context entries the sessionless attempt hashes for a checksum its memo cannot answer: small contexts
 * (hashed in milliseconds) are still decided there, a big changed one goes to the session at once.
 */
const SESSIONLESS_MAX_HASHED = 1000;

/** Build a Dockerfile. Must run as session root (see `ensureSession`). */
export async function build(opts: BuildOptions): Promise<BuildResult> {
  const session = opts.sessionless ? { uidMap: IDENTITY, gidMap: IDENTITY } : currentSession();
  if (!session) {
    throw new TsbuildError("TSB_BUILD_NO_SESSION", "tsbuild build must run inside tsbuild's namespace session", {
      hint: "use the tsbuild CLI, or call ensureSession() from src/executor before build()",
    });
  }
  const progress = opts.progress ?? noProgress;
  const signal = opts.signal ?? new AbortController().signal;
  const contextDir = resolve(opts.contextDir);
  const dockerfilePath = opts.dockerfile !== undefined ? resolve(opts.dockerfile) : join(contextDir, "Dockerfile");
  const filename = opts.dockerfileName ?? opts.dockerfile ?? "Dockerfile";
  const text = opts.dockerfileText ?? (await readDockerfileText(dockerfilePath, filename));

  const root = resolveRoot({ root: opts.root });
  const layout = rootLayout(root);
  const store = await openContentStore(root);
  const images = await openImageStore(root);
  const snapshotter = opts.sessionless ? new SessionlessSnapshotter(layout.snapshots) : await createSnapshotter(layout.snapshots);
  // Everything this build uses or makes is leased until it ends, so a concurrent `tsbuild prune` keeps it.
  const lease = await BuildLease.start(layout);
  const refs = new LeasedRefManager({ snapshotter, store, layout }, lease);
  const registry = opts.sessionless ? noRegistry : openRegistry({ root, insecureRegistries: opts.insecureRegistries ?? [] });
  const opened: BuildContext[] = [];
  try {
    const contexts = new Map<string, () => Promise<BuildContext>>();
    const open = (dir: string, dockerfile?: string, scratch = false) => async (): Promise<BuildContext> => {
      // Outside the session nothing runs: a big context that changed since its last checksum is a miss, not hashed here.
      const ctx = await openContext({
        root: dir, ...(dockerfile ? { dockerfile } : {}), indexDir: join(layout.cache, "context-index"), ...(scratch ? { scratch } : {}),
        ...(opts.sessionless ? { maxHashedEntries: SESSIONLESS_MAX_HASHED } : {}),
        // A directory and its children's lstat in one round trip to the snapshot room's co-process.
        lister: lstatDir,
      });
      opened.push(ctx);
      return ctx;
    };
    contexts.set("context", open(contextDir, dockerfilePath, opts.contextSource !== undefined));
    const imageContexts = new Map<string, ImageContextSource>();
    for (const c of opts.buildContexts ?? []) {
      if (c.kind === "local") contexts.set(c.name, open(c.dir));
      else if (c.kind !== "http") imageContexts.set(c.name, imageContextSource(c));
    }
    const deps: OpDeps = {
      layout,
      store,
      images,
      registry,
      snapshotter,
      refs,
      sandbox: opts.sessionless ? noSandbox : createSandbox(),
      uidMap: session.uidMap,
      gidMap: session.gidMap,
      contexts,
      secrets: new Map((opts.secrets ?? []).map((s) => [s.id, s])),
      ssh: new Map((opts.ssh ?? []).map((s) => [s.id, s])),
      imageResolve: { pull: opts.pull ?? false },
      ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
      cacheMountsDir: join(layout.cache, "mounts"),
    };
    const imageResolver = createImageResolver({ ...deps, imageContexts });
    const platform = opts.platform ? parsePlatform(opts.platform) : undefined;
    const compiled = await compileText(text, {
      filename,
      resolver: asImageMetaResolver(imageResolver, signal),
      ...(opts.buildArgs ? { buildArgs: opts.buildArgs } : {}),
      ...(opts.target ? { target: opts.target } : {}),
      ...(platform ? { targetPlatform: platform } : {}),
      ...(opts.network ? { network: opts.network } : {}),
      ...(opts.extraHosts?.length ? { extraHosts: opts.extraHosts } : {}),
      namedContexts: (opts.buildContexts ?? []).filter((c) => c.kind === "local").map((c) => c.name),
      imageContexts: [...imageContexts.keys()],
      httpContexts: new Map((opts.buildContexts ?? []).flatMap((c) => (c.kind === "http" ? [[c.name, c.url] as const] : []))),
    });

    const outputs = opts.outputs ?? defaultOutputs(opts);
    const shared = await SharedCache.open(opts.cacheFrom ?? [], opts.cacheTo ?? [], { layout, store, refs, registry, cacheMountsDir: deps.cacheMountsDir, progress, signal });
    let cacheStore: SharedCacheStore = shared.cacheStore();
    let ref: BuildRef = EMPTY_REF;
    let steps: readonly VertexOutcome[] = [];
    let unevaluated: readonly VertexOutcome[] = [];
    let graph: GraphSolverVertex | undefined;
    if (compiled.root) {
      graph = applyNoCache(toSolverGraph(compiled.root), compiled, opts);
      for (;;) {
        try {
          const solved = await solve(graph, {
            resolver: createOpResolver(deps, { imageResolver, createFileOp }),
            cache: createOpCacheStore(lease.guard(cacheStore)),
            progress,
            signal,
          });
          // Base images pulled by tag whose blobs are all stored (even when their steps were cached) get their name.
          await imageResolver.recordPulled();
          steps = solved.vertices;
          unevaluated = solved.unevaluated;
          ref = fsResult(solved.result);
          // Layers found in a shared cache are fetched only when an output needs them locally (a push mounts them).
          if (outputs.some((o) => o.type !== "image" || o.store)) await refs.ensureBlobs(ref, signal);
          break;
        } catch (err) {
          // A cached layer that does not verify is ignored (warning) and the build solved again: its steps run.
          if (!shared.shouldRetry(err)) throw err;
          cacheStore = shared.cacheStore();
        }
      }
    }
    // A fetched context's records are kept by its source: the scratch directory is new every time.
    const recordContext = opts.contextSource !== undefined ? `/${opts.contextSource}` : contextDir;
    const recordDockerfile = opts.contextSource !== undefined ? `/${opts.contextSource}/${filename}` : dockerfilePath;
    const record = makeBuildRecord({
      filename, contextDir: recordContext, dockerfileText: text, noCache: opts.noCache ?? false, noCacheFilter: opts.noCacheFilter ?? [],
      buildArgs: opts.buildArgs ?? {}, ...(graph ? { root: graph } : {}), steps, unevaluated,
    });
    const previous = opts.explain ? (await loadBuildRecords(layout.cache, recordContext, recordDockerfile, 1))[0] : undefined;
    await saveBuildRecord(layout.cache, recordDockerfile, record);
    const explain = opts.explain ? { misses: explainMisses(await withContextFiles(record, layout.cache), previous), record } : undefined;

    const cacheState = { steps, results: cacheStore.results, final: ref };
    const firstImage = outputs.find((o): o is Extract<OutputSpec, { image: unknown }> => "image" in o);
    const imageConfig = await shared.imageConfig(compiled.image, cacheState, firstImage?.image.compression ?? "gzip");
    const exporting = exportOutputs({
      outputs,
      ref,
      image: imageConfig,
      tags: opts.tags ?? [],
      ...(opts.labels ? { labels: opts.labels } : {}),
      refs,
      store,
      images,
      registry: () => registry,
      ...(opts.stdout ? { stdout: opts.stdout as never } : {}),
      ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
      progress,
      signal,
    });
    // The cache export runs alongside the image export; both reuse the same layer blobs.
    const [exported, cacheExported] = await Promise.allSettled([exporting, shared.export(cacheState)]);
    if (exported.status === "rejected") throw exported.reason;
    if (cacheExported.status === "rejected") throw cacheExported.reason;
    const exports = exported.value;
    const image = exports.image;
    if (opts.iidfile && image) await writeIidFile(opts.iidfile, image.config.digest);
    if (opts.metadataFile) await writeMetadataFile(opts.metadataFile, buildMetadata(image ? { ...image, names: exports.names } : undefined));
    return {
      ...(image ? { imageId: image.config.digest, manifest: image.manifest } : {}),
      names: exports.names,
      pushed: exports.outputs.flatMap((o) => o.pushed),
      exports,
      steps,
      ran: countRan(steps, compiled.root?.vertex),
      compiled,
      ...(explain ? { explain } : {}),
    };
  } finally {
    await Promise.allSettled(opened.map((c) => c.close()));
    await registry.close().catch(() => {});
    await snapshotter.close().catch(() => {});
    await lease.release().catch(() => {});
    await reapRootTemps(layout).catch(() => {});
  }
}

/** Outside the session (`sessionless`): ids are not remapped, and no step runs. */
const IDENTITY = [{ containerId: 0, hostId: 0, size: 4294967295 }] as const;
const needsSession = (what: string) => (): Promise<never> =>
  Promise.reject(new TsbuildError("TSB_BUILD_NEEDS_SESSION", `${what} needs tsbuild's session`, { hint: "build through the tsbuild CLI, or without sessionless" }));
const noSandbox = { run: needsSession("a step that runs") };
/** Outside the session nothing is pulled: a base image that is not stored yet means real work, done in the session. */
const noRegistry: Registry = {
  resolve: needsSession("resolving an image in a registry"),
  pull: needsSession("pulling an image"),
  push: needsSession("pushing an image"),
  fetchBlob: needsSession("fetching a blob"),
  noteBlobSources: () => Promise.resolve(),
  close: () => Promise.resolve(),
  [Symbol.asyncDispose]: () => Promise.resolve(),
};

/** A `--build-context NAME=docker-image://…|oci-layout://…` as the image resolver's source (reference checked here). */
function imageContextSource(c: Exclude<NamedContext, { kind: "local" | "http" }>): ImageContextSource {
  if (c.kind === "oci-layout") return { kind: "oci-layout", dir: c.dir, ...(c.tag ? { tag: c.tag } : {}), ...(c.digest ? { digest: c.digest } : {}) };
  try {
    return { kind: "image", ref: parseReference(c.ref).full };
  } catch (err) {
    throw new UsageError(`--build-context ${c.name}: invalid image reference ${JSON.stringify(c.ref)}`, { cause: err, hint: "use docker-image://NAME[:TAG][@sha256:…]" });
  }
}

async function readDockerfileText(path: string, name: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TsbuildError("TSB_BUILD_DOCKERFILE", `cannot read ${name} at ${path}${code ? ` (${code})` : ""}`, {
      hint: "give the context directory that holds the Dockerfile, or -f PATH",
    });
  }
}

function defaultOutputs(opts: BuildOptions): OutputSpec[] {
  return [{
    type: "image",
    names: [],
    push: opts.push ?? false,
    store: true,
    // With an epoch the default image is reproducible: built layers' file times are clamped (base layers never).
    // Stored only: layers stay uncompressed until the image is pushed or exported.
    image: { compression: defaultCompression(!(opts.push ?? false)), force: false, rewriteTimestamp: opts.sourceDateEpoch !== undefined, manifestAnnotations: {}, descriptorAnnotations: {} },
  }];
}

function fsResult(r: OpResult): BuildRef {
  if (r.kind !== "fs") throw new TsbuildError("TSB_BUILD_RESULT", `the build result is a ${r.kind} source, not a filesystem`);
  return r.ref;
}

/** Mark vertices that must ignore the cache: all with --no-cache, or the RUN steps of the --no-cache-filter stages. */
function applyNoCache(root: GraphSolverVertex, compiled: CompileResult, opts: BuildOptions): GraphSolverVertex {
  const filter = new Set((opts.noCacheFilter ?? []).map((s) => s.toLowerCase()));
  if (!opts.noCache && filter.size === 0) return root;
  const known = new Set(compiled.stages.map((s) => s.name));
  for (const f of filter) {
    if (!known.has(f) && !/^\d+$/.test(f)) {
      throw new UsageError(`--no-cache-filter: no stage named ${JSON.stringify(f)} in this build`, { hint: `stages: ${[...known].join(", ")}` });
    }
  }
  const names = new Set<string>();
  for (const s of compiled.stages) if (filter.has(s.name) || filter.has(String(s.index))) names.add(s.name);
  const memo = new Map<string, GraphSolverVertex>();
  const visit = (v: GraphSolverVertex): GraphSolverVertex => {
    const known = memo.get(v.digest);
    if (known) return known;
    const stage = /^\[([^\s\]]+) \d+\/\d+\]/.exec(v.name)?.[1];
    // As BuildKit: the filter re-runs a stage's RUN steps (never the shared FROM or file ops themselves); the steps
    // after them miss because their input was re-run (the solver's rule for ignore-cache inputs).
    const ignore = opts.noCache || (stage !== undefined && names.has(stage) && v.vertex.op.kind === "exec");
    const out: GraphSolverVertex = Object.freeze({ ...v, inputs: v.inputs.map(visit), ...(ignore ? { ignoreCache: true } : {}) });
    memo.set(v.digest, out);
    return out;
  };
  return visit(root);
}

/** Outcomes that ran, not counting build-context loads (they always "run": they only read the context). */
function countRan(steps: readonly VertexOutcome[], root: Vertex | undefined): number {
  const local = new Set<string>();
  const seen = new Set<Vertex>();
  const walk = (v: Vertex): void => {
    if (seen.has(v)) return;
    seen.add(v);
    if (v.op.kind === "source" && v.op.source.type === "local") local.add(v.digest);
    for (const i of v.inputs) walk(i.vertex);
  };
  if (root) walk(root);
  return steps.filter((s) => !s.cached && !local.has(s.digest)).length;
}
