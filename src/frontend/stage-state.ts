/**
 * The per-stage dispatch state (BuildKit's dispatchState). The filesystem is an immutable graph Edge; the
 * working image config is copied when a stage inherits from another, never shared.
 */
import type { SourceRange } from "../errors.js";
import type { Edge, GraphPlatform } from "../graph/index.js";
import type { HealthConfig, HistoryEntry } from "../image/index.js";
import type { Instruction, Stage } from "../parser/index.js";

/** A mutable copy of an image config while a stage is dispatched. */
export interface WorkingImage {
  os: string;
  architecture: string;
  variant?: string;
  osVersion?: string;
  author?: string;
  env: string[];
  user?: string;
  exposedPorts?: Record<string, Record<string, never>>;
  entrypoint?: string[] | null;
  cmd?: string[] | null;
  volumes?: Record<string, Record<string, never>>;
  workingDir?: string;
  labels?: Record<string, string>;
  stopSignal?: string;
  argsEscaped?: boolean;
  healthcheck?: HealthConfig;
  onBuild?: string[] | null;
  shell?: string[];
  diffIds: string[];
  history: HistoryEntry[];
}

export interface ResolvedArg {
  readonly key: string;
  readonly value?: string;
}

export interface DispatchState {
  /** The Dockerfile stage; for a `COPY --from=<image>` pseudo-stage, a synthetic stage with only `baseName`. */
  readonly stage: Stage;
  /** Display name in progress (`stage-N` for unnamed stages; empty when the Dockerfile has one stage). */
  stageName: string;
  /** FROM word after ARG expansion (normalized reference once resolved). */
  baseName: string;
  platform: GraphPlatform | undefined;
  base: DispatchState | undefined;
  /** Stages this one needs (FROM, COPY --from, RUN --mount from=), with the instruction that needs them. */
  readonly deps: Map<DispatchState, readonly SourceRange[]>;
  /** `COPY --from=<image>` pseudo-stage, not in the Dockerfile. */
  readonly unregistered: boolean;
  commands: { readonly ins: Instruction; readonly onbuild: boolean; readonly sources: readonly DispatchState[] }[];
  onBuildInit: boolean;
  resolved: boolean;
  dispatched: boolean;
  isScratch: boolean;
  root: Edge | null;
  /** Process environment: image env, ENV and ARG values, in definition order. */
  env: Map<string, string>;
  cwd: string;
  user: string;
  image: WorkingImage;
  buildArgs: ResolvedArg[];
  workdirSet: boolean;
  cmdIndex: number;
  cmdTotal: number;
  cmdIsOnBuild: boolean;
  used: { cmd?: readonly SourceRange[]; entrypoint?: readonly SourceRange[]; healthcheck?: readonly SourceRange[] };
}

/**
 * Deep copy of JSON-like data (plain objects, arrays, primitives), keeping key order and `undefined` members: what
 * `structuredClone` gives for such data, without its serialization round trip (a hot path for long Dockerfiles).
 */
export function cloneData<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = cloneData(value[i] as unknown);
    return out as T;
  }
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k in src) if (Object.hasOwn(src, k)) out[k] = cloneData(src[k]);
  return out as T;
}

/** A working copy for a stage that starts from another stage. History entries are never changed once committed: shared. */
export function cloneImage(img: WorkingImage): WorkingImage {
  const out = cloneData<WorkingImage>({ ...img, history: [] });
  out.history = img.history.slice();
  return out;
}

/** The image config of `FROM scratch`. */
export function emptyImage(platform: GraphPlatform): WorkingImage {
  return {
    os: platform.os,
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    env: platform.os === "windows" ? [] : [`PATH=${DEFAULT_PATH}`],
    workingDir: "/",
    diffIds: [],
    history: [],
  };
}

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function newState(stage: Stage, unregistered = false): DispatchState {
  return {
    stage,
    stageName: stage.name ?? "",
    baseName: stage.baseName,
    platform: undefined,
    base: undefined,
    deps: new Map(),
    unregistered,
    commands: [],
    onBuildInit: false,
    resolved: false,
    dispatched: false,
    isScratch: false,
    root: null,
    env: new Map(),
    cwd: "/",
    user: "",
    image: emptyImage({ os: "linux", architecture: "amd64" }),
    buildArgs: [],
    workdirSet: false,
    cmdIndex: 0,
    cmdTotal: 0,
    cmdIsOnBuild: false,
    used: {},
  };
}

/** Set or replace `KEY=value` in an env list, keeping the position of an existing key (BuildKit addEnv). */
export function addEnv(env: string[], key: string, value: string): void {
  const i = env.findIndex((e) => e.slice(0, e.includes("=") ? e.indexOf("=") : e.length) === key);
  if (i >= 0) env[i] = `${key}=${value}`;
  else env.push(`${key}=${value}`);
}

/** Shell to prepend to shell-form commands: the stage's SHELL, or `/bin/sh -c`. */
export function withShell(img: WorkingImage, args: readonly string[]): string[] {
  const shell = img.shell && img.shell.length > 0 ? [...img.shell] : img.os === "windows" ? ["cmd", "/S", "/C"] : ["/bin/sh", "-c"];
  return [...shell, args.join(" ")];
}

export const HISTORY_COMMENT = "buildkit.dockerfile.v0";

/** Append a history entry (BuildKit commitToHistory): `# buildkit` marks steps that ran in the build graph. */
export function commitToHistory(img: WorkingImage, msg: string, withLayer: boolean, fromGraph = false): void {
  img.history.push({ created_by: fromGraph ? `${msg} # buildkit` : msg, comment: HISTORY_COMMENT, ...(withLayer ? {} : { empty_layer: true }) });
}
