/**
 * executor: the rootless session (uid 0 in a user + private mount namespace, like `buildah unshare`) and the sandbox
 * that runs one RUN process in fresh mount/pid/ipc/uts (and net) namespaces on a rootfs the snapshotter mounted.
 * It must not know about images, layers or snapshots: it gets a directory and returns an exit code.
 *
 * Mechanism: a small C helper (native/, built with the machine's `cc` on first use and cached by source hash).
 * Node cannot unshare(2) a multi-threaded process, and a shell pipeline of util-linux `unshare` + mount commands
 * costs several forks per RUN; the helper does the whole setup in one exec (clone, mounts via openat2
 * RESOLVE_IN_ROOT, pivot_root, PID-1 reaper), which keeps a `true` RUN at a few milliseconds. The session re-exec
 * uses the same helper (newuidmap/newgidmap from the user's /etc/subuid range) and then execs node itself.
 */
export type { BindMount, Mount, ProcessSpec, RunOptions, RunResult, Sandbox, SecretMount, TmpfsMount } from "./types.js";
export { ExecutorError, type ExecutorErrorCode } from "./errors.js";
export {
  ensureSession,
  currentSession,
  inSession,
  runInSession,
  SESSION_ENV,
  type Session,
  type SessionOptions,
  type SessionOutcome,
} from "./userns.js";
export { toContainerId, toHostId, parseIdMap, type IdMap, type IdMapEntry } from "./idmap.js";
export { helperPath } from "./native.js";
export { createSandbox, type SandboxOptions } from "./sandbox.js";
export { findSandboxProcesses, type SandboxProcess } from "./leaks.js";
