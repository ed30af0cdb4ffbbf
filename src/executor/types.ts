/** The sandbox contract: what a RUN step asks for and what it gets back. Plain readonly data. */

/** A bind mount of a host path (a cache dir is a rw bind of the cache's directory). */
export interface BindMount {
  readonly type: "bind";
  /** Absolute path in the session's view of the filesystem. */
  readonly source: string;
  /** Absolute path inside the container. */
  readonly target: string;
  readonly readonly: boolean;
}

/** A fresh tmpfs. */
export interface TmpfsMount {
  readonly type: "tmpfs";
  readonly target: string;
  /** Size limit in bytes. @default 64 MiB */
  readonly size?: number;
  /** @default 0o1777 */
  readonly mode?: number;
}

/**
 * A secret (or any small file) exposed read-only at `target` with the given mode and owner (session ids). The
 * content is copied to a private tmpfs for the run, never into the rootfs.
 */
export interface SecretMount {
  readonly type: "secret";
  /** Host path of the file to expose. */
  readonly source: string;
  readonly target: string;
  /** @default 0o400 */
  readonly mode?: number;
  /** @default 0 */
  readonly uid?: number;
  /** @default 0 */
  readonly gid?: number;
}

/** One declared mount of a run. Mounts are applied parents first (sorted by target depth, stable). */
export type Mount = BindMount | TmpfsMount | SecretMount;

/** What to run and where. */
export interface ProcessSpec {
  /** Root directory of the container (already mounted by the snapshotter in the session). */
  readonly rootfs: string;
  readonly mounts: readonly Mount[];
  /** argv; argv[0] is looked up in the container's PATH (from `env`). */
  readonly args: readonly string[];
  /** `KEY=value` strings, exactly the environment of the process. */
  readonly env: readonly string[];
  /** Working directory inside the container; created (owned by the user) when missing. @default "/" */
  readonly cwd?: string;
  /** `uid[:gid]` or `name[:group]`, names resolved from the rootfs' /etc/passwd and /etc/group. @default "root" */
  readonly user?: string;
  /** @default "buildkitsandbox" (BuildKit's) */
  readonly hostname?: string;
  /** "host": the session's network; "none": a new network namespace with only loopback up. */
  readonly network: "host" | "none";
  /** Mount the rootfs read-only. @default false */
  readonly readonlyRootfs?: boolean;
  /** Extra /etc/hosts lines (`IP NAME...`). */
  readonly extraHosts?: readonly string[];
}

/** Per-call options of {@link Sandbox.run}. */
export interface RunOptions {
  /** Aborting kills the whole process tree of the run and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Receives the process's stdout; discarded when absent. */
  readonly stdout?: NodeJS.WritableStream;
  /** Receives the process's stderr; discarded when absent. */
  readonly stderr?: NodeJS.WritableStream;
}

/** The result of a run that started: a non-zero exit code is a result, not an error. */
export interface RunResult {
  /** The exit status, or 128+N when the process was killed by signal N. */
  readonly exitCode: number;
}

/** Runs processes in isolated containers. Must be called as session root (see ensureSession). */
export interface Sandbox {
  /**
   * Run one process to completion. Rejects with an ExecutorError when the sandbox cannot be set up (bad user, missing
   * executable, mount failure), with the abort reason when aborted; no process, mount or temp dir is left behind.
   */
  run(spec: ProcessSpec, options?: RunOptions): Promise<RunResult>;
}
