/**
 * The frontend's contract: options of `compile()`, its result, and the injected base-image resolver.
 */
import type { SourceRange } from "../errors.js";
import type { BuildGraph, Edge, ExtraHost, GraphPlatform } from "../graph/index.js";
import type { ImageConfig } from "../image/index.js";
import type { LintFinding } from "./lint/types.js";

/** What `ImageMetaResolver.resolve` returns for a base image. */
export interface ResolvedImage {
  /** The normalized reference pinned by digest: `docker.io/library/busybox:latest@sha256:…`. */
  readonly ref: string;
  readonly config: ImageConfig;
}

/**
 * Looks up base-image metadata (the one I/O the frontend needs), injected by the caller: the registry in a real
 * build, a table in tests.
 */
export interface ImageMetaResolver {
  /**
   * @param ref normalized reference (`docker.io/library/busybox:latest`)
   * @param platform the platform wanted (from FROM --platform or the target platform)
   */
  resolve(ref: string, platform: GraphPlatform): Promise<ResolvedImage>;
}

/** Options of {@link compile}. */
export interface CompileOptions {
  /** `--build-arg` values. A key without value in the CLI should be resolved by the caller from the environment. */
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** Stage to build (name, case-insensitive); the last stage by default. */
  readonly target?: string;
  /** @default linux on the host's architecture */
  readonly targetPlatform?: GraphPlatform;
  /** @default linux on the host's architecture */
  readonly buildPlatform?: GraphPlatform;
  readonly resolver: ImageMetaResolver;
  /** Network of RUN steps without `--network` (`docker build --network`). @default "default" */
  readonly network?: "default" | "none" | "host";
  /** /etc/hosts entries of every RUN (`docker build --add-host`). */
  readonly extraHosts?: readonly ExtraHost[];
  /** Dockerfile name for source locations. @default "Dockerfile" */
  readonly filename?: string;
  /** Dockerfile text, so errors can draw a snippet. */
  readonly text?: string;
  /** Name of the main build context source. @default "context" */
  readonly contextName?: string;
  /**
   * Names of additional local contexts (`--build-context NAME=DIR`): `COPY --from=NAME` and `RUN --mount from=NAME`
   * read that context (a local source named NAME) when no stage has the name, as BuildKit's named contexts.
   */
  readonly namedContexts?: readonly string[];
  /**
   * Names of image contexts (`--build-context NAME=docker-image://…|oci-layout://…`). The resolver maps `FROM NAME`
   * and `COPY --from=NAME` to the image; here a stage `FROM … AS NAME` is replaced by it (BuildKit: its own base
   * and instructions are not used).
   */
  readonly imageContexts?: readonly string[];
  /**
   * Http(s) contexts (`--build-context NAME=https://…`), name → URL: `COPY --from=NAME` and `RUN --mount from=NAME`
   * read the one file the URL serves (BuildKit's llb.HTTP: named from Content-Disposition or the URL path, 0600).
   */
  readonly httpContexts?: ReadonlyMap<string, string>;
  /** Receives build-check findings found while compiling (UndefinedVar, WorkdirRelativePath, …). */
  readonly onFinding?: (finding: LintFinding) => void;
  /** `.dockerignore` predicate for CopyIgnoredFile: true when a context path is excluded. */
  readonly isIgnored?: (path: string) => boolean;
}

/** One dispatched stage. */
export interface CompiledStage {
  /** Lower-cased name, or `stage-N`. */
  readonly name: string;
  readonly index: number;
  readonly root: Edge | null;
  readonly image: ImageConfig;
  readonly platform: GraphPlatform;
  readonly source: readonly SourceRange[];
}

export interface CompileResult {
  readonly graph: BuildGraph;
  /** The target stage's filesystem (null: empty, e.g. `FROM scratch` with metadata only). */
  readonly root: Edge | null;
  /** The target stage's image config (history, env, cmd, …); `rootfs.diff_ids` is filled by the exporter. */
  readonly image: ImageConfig;
  /** Every stage that was needed, in Dockerfile order (the target last among them). */
  readonly stages: readonly CompiledStage[];
  readonly target: CompiledStage;
  /** Build-check findings met while compiling. */
  readonly findings: readonly LintFinding[];
}
