/**
 * The build graph IR (BuildKit's LLB in spirit): a DAG of vertices, each holding one Op. Ops reference their
 * inputs by index into `Vertex.inputs`; `null` stands for an empty filesystem (scratch).
 */
import type { SourceRange } from "../errors.js";
import type { Digest } from "../util/digest.js";

/** An OS/architecture pair (same shape as the image room's Platform, kept local so graph imports no room). */
export interface GraphPlatform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** Index into the owning vertex's `inputs`, or `null` for scratch (an empty filesystem). */
export type InputIndex = number | null;

// ---- source ----------------------------------------------------------------------------------------------------

/** A base image: the `ref` is normalized (`docker.io/library/busybox:latest`, plus `@sha256:…` once resolved). */
export interface ImageSource {
  readonly type: "image";
  readonly ref: string;
  readonly platform: GraphPlatform;
}

/** A directory sent by the client (the build context or a named context), filtered by patterns. */
export interface LocalSource {
  readonly type: "local";
  /** `context` for the main build context; other names for named contexts. */
  readonly name: string;
  readonly includePatterns?: readonly string[];
  readonly excludePatterns?: readonly string[];
  /** Paths the build reads from this source (a hint so only those are transferred). */
  readonly followPaths?: readonly string[];
}

/** A remote file (ADD https://…). */
export interface HttpSource {
  readonly type: "http";
  readonly url: string;
  /** Expected `sha256:…` of the content (ADD --checksum). */
  readonly checksum?: string;
  /** File name to save as (derived from the URL when absent). */
  readonly filename?: string;
}

export type Source = ImageSource | LocalSource | HttpSource;

export interface SourceOp {
  readonly kind: "source";
  readonly source: Source;
}

// ---- exec ------------------------------------------------------------------------------------------------------

/** Proxy variables from build args: passed to the process environment, never part of the digest. */
export interface ProxyEnv {
  readonly HTTP_PROXY?: string;
  readonly HTTPS_PROXY?: string;
  readonly FTP_PROXY?: string;
  readonly NO_PROXY?: string;
  readonly ALL_PROXY?: string;
}

export interface ExecMeta {
  readonly args: readonly string[];
  /** `KEY=value` strings, in order. */
  readonly env: readonly string[];
  readonly cwd: string;
  /** `user[:group]` as written in USER (resolved at run time); empty for root. */
  readonly user: string;
  readonly hostname?: string;
  /** Extra /etc/hosts entries (`docker build --add-host`); digested, as BuildKit's ExecOp meta. */
  readonly extraHosts?: readonly ExtraHost[];
}

/** One `--add-host NAME:IP` entry. */
export interface ExtraHost {
  readonly host: string;
  readonly ip: string;
}

export interface BindMount {
  readonly type: "bind";
  readonly dest: string;
  readonly input: InputIndex;
  /** Sub-path of the input to mount. */
  readonly selector?: string;
  readonly readonly: boolean;
  /** Output index when the mount is writable and its result is kept (the rootfs is output 0). */
  readonly output?: number;
}

export interface CacheMount {
  readonly type: "cache";
  readonly dest: string;
  /** Optional seed content (`from=`). */
  readonly input: InputIndex;
  readonly selector?: string;
  readonly readonly: boolean;
  readonly cache: {
    readonly id: string;
    readonly sharing: "shared" | "private" | "locked";
    readonly uid?: number;
    readonly gid?: number;
    readonly mode?: number;
  };
}

export interface TmpfsMount {
  readonly type: "tmpfs";
  readonly dest: string;
  /** Size limit in bytes (0 = unlimited). */
  readonly size: number;
}

/** A secret by id: the value itself never enters the graph. */
export interface SecretMount {
  readonly type: "secret";
  /** Target file path; empty when the secret is only exposed as an env variable. */
  readonly dest: string;
  readonly secret: {
    readonly id: string;
    readonly required: boolean;
    readonly mode: number;
    readonly uid: number;
    readonly gid: number;
    /** Expose the secret as this environment variable instead of (or as well as) a file. */
    readonly env?: string;
  };
}

export interface SshMount {
  readonly type: "ssh";
  readonly dest: string;
  readonly ssh: {
    readonly id: string;
    readonly required: boolean;
    readonly mode: number;
    readonly uid: number;
    readonly gid: number;
  };
}

export type ExecMount = BindMount | CacheMount | TmpfsMount | SecretMount | SshMount;

export interface ExecOp {
  readonly kind: "exec";
  readonly meta: ExecMeta;
  readonly network: "default" | "none" | "host";
  readonly security: "sandbox" | "insecure";
  /** The first mount is the rootfs: `{type: "bind", dest: "/", input: 0 | null, output: 0}`. */
  readonly mounts: readonly ExecMount[];
  /** Not digested: changing a proxy must not invalidate the cache (BuildKit's ProxyEnv). */
  readonly proxyEnv?: ProxyEnv;
}

// ---- file ------------------------------------------------------------------------------------------------------

/** Owner as written (`1000`, `app`, `app:staff`, `1:2`); names are resolved against the destination's /etc files. */
export interface Chown {
  readonly user: string;
  readonly group?: string;
}

export interface CopyAction {
  readonly action: "copy";
  /** Input holding the source files. */
  readonly src: InputIndex;
  readonly srcPath: string;
  readonly dest: string;
  readonly chown?: Chown;
  /** Octal mode (`0755`) or symbolic (`u+x`) as given in --chmod. */
  readonly chmod?: string;
  readonly followSymlinks: boolean;
  /** Copy the contents of a source directory rather than the directory itself. */
  readonly dirContents: boolean;
  readonly allowWildcard: boolean;
  readonly allowEmptyWildcard: boolean;
  readonly createDestPath: boolean;
  readonly includePatterns?: readonly string[];
  readonly excludePatterns?: readonly string[];
  /** COPY --parents: keep the source's parent directories. */
  readonly parents?: boolean;
  /** ADD: unpack local tar archives. */
  readonly unpack?: boolean;
  /** ADD --checksum of a remote source. */
  readonly checksum?: string;
  /** The source is an HTTP download (the `src` input is an http source). */
  readonly http?: boolean;
}

export interface MkdirAction {
  readonly action: "mkdir";
  readonly path: string;
  readonly mode: number;
  readonly makeParents: boolean;
  readonly chown?: Chown;
}

export interface MkfileAction {
  readonly action: "mkfile";
  readonly path: string;
  readonly mode: number;
  readonly data: string;
  readonly chown?: Chown;
}

export interface RmAction {
  readonly action: "rm";
  readonly path: string;
  readonly allowNotFound: boolean;
  readonly allowWildcard: boolean;
}

export type FileAction = CopyAction | MkdirAction | MkfileAction | RmAction;

/** Applies `actions` in order on top of `base`; the result is output 0. */
export interface FileOp {
  readonly kind: "file";
  readonly base: InputIndex;
  readonly actions: readonly FileAction[];
}

// ---- merge -----------------------------------------------------------------------------------------------------

/** Layers the inputs in order (COPY --link): later inputs win. */
export interface MergeOp {
  readonly kind: "merge";
  readonly inputs: readonly number[];
}

export type Op = SourceOp | ExecOp | FileOp | MergeOp;
export type OpKind = Op["kind"];

// ---- vertices --------------------------------------------------------------------------------------------------

/** Options kept out of the digest (BuildKit's VertexOptions and source map). */
export interface VertexOptions {
  /** Progress name, e.g. `[stage-1 2/5] RUN make`. */
  readonly name: string;
  readonly description?: Readonly<Record<string, string>>;
  /** Dockerfile ranges this vertex comes from (first is the main one). */
  readonly source?: readonly SourceRange[];
  /** The Dockerfile name the ranges refer to. */
  readonly filename?: string;
  readonly ignoreCache?: boolean;
}

/** A reference to one output of a vertex. */
export interface Edge {
  readonly vertex: Vertex;
  readonly output: number;
}

/**
 * One node of the DAG. Frozen once created. `digest` is the checksum of the op definition up to this vertex,
 * including all of its inputs' digests (never of the non-digested options).
 */
export interface Vertex {
  readonly digest: Digest;
  readonly op: Op;
  readonly inputs: readonly Edge[];
  readonly options: VertexOptions;
}

/** A whole graph: every vertex reachable from `root`, inputs before users. `root` null = empty filesystem. */
export interface BuildGraph {
  readonly vertices: readonly Vertex[];
  readonly root: Edge | null;
}
