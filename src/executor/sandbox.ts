import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { isAbsolute } from "node:path";
import type { Readable } from "node:stream";
import { ExecutorError, type ExecutorErrorCode } from "./errors.js";
import { helperPath } from "./native.js";
import type { Mount, ProcessSpec, RunOptions, RunResult, Sandbox } from "./types.js";
import { currentSession } from "./userns.js";

const DEFAULT_TMPFS_SIZE = 64 * 1024 * 1024;
/** After an abort, the helper gets this long to kill the container and clean up before it is killed itself. */
const ABORT_GRACE_MS = 2000;

/** Options of {@link createSandbox}. */
export interface SandboxOptions {
  /** Text of the container's /etc/resolv.conf. @default the host's /etc/resolv.conf */
  readonly resolvConf?: string;
}

/** The namespace sandbox (see the room header in index.ts). Call only as session root. */
export function createSandbox(options: SandboxOptions = {}): Sandbox {
  return new NamespaceSandbox(options);
}

class NamespaceSandbox implements Sandbox {
  readonly #resolvConf: string | undefined;

  constructor(options: SandboxOptions) {
    this.#resolvConf = options.resolvConf;
  }

  async run(spec: ProcessSpec, options: RunOptions = {}): Promise<RunResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    if (!currentSession()) {
      throw new ExecutorError("TSB_EXECUTOR_NOT_IN_SESSION", "the sandbox must run as root of a tsbuild session", {
        hint: "call ensureSession() first (the CLI does), or run under `tsbuild unshare`",
      });
    }
    const argv = helperArgs(spec, this.#resolvConf ?? hostResolvConf());
    const child = spawn(helperPath(), argv, { stdio: ["ignore", "pipe", "pipe", "pipe"], env: toEnv(spec.env) });
    pipeTo(child.stdout!, options.stdout);
    pipeTo(child.stderr!, options.stderr);
    let status = "";
    const statusPipe = child.stdio[3] as Readable;
    statusPipe.setEncoding("utf8");
    statusPipe.on("data", (s: string) => (status += s));
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      aborted = true;
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), ABORT_GRACE_MS);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const code = await new Promise<number>((resolve, reject) => {
        child.once("error", (err) =>
          reject(new ExecutorError("TSB_EXECUTOR_SETUP", `cannot start the sandbox helper: ${err.message}`, { cause: err, hint: "check the tsbuild installation" })),
        );
        child.once("close", (c, sig) => resolve(c ?? 128 + (sig === "SIGKILL" ? 9 : 15)));
      });
      if (aborted) throw signal?.reason ?? new Error("aborted");
      if (status.trim()) throw statusError(status.trim(), spec);
      return { exitCode: code };
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (killTimer) clearTimeout(killTimer);
    }
  }
}

function pipeTo(from: Readable, to: NodeJS.WritableStream | undefined): void {
  if (to) from.pipe(to, { end: false });
  else from.resume();
}

function toEnv(env: readonly string[]): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const kv of env) {
    const i = kv.indexOf("=");
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

let resolvCache: string | undefined;
function hostResolvConf(): string {
  if (resolvCache === undefined) {
    try {
      resolvCache = readFileSync("/etc/resolv.conf", "utf8");
    } catch {
      resolvCache = "";
    }
  }
  return resolvCache;
}

/** The hostname of a RUN step, as in BuildKit (`hostname` in a RUN prints it; some tools record it in files). */
const DEFAULT_HOSTNAME = "buildkitsandbox";

/** BuildKit's /etc/hosts, byte for byte (a RUN may copy it into the image): its two lines, then the extra hosts. */
function hostsFile(hostname: string, extra: readonly string[]): string {
  const lines = [`127.0.0.1\tlocalhost ${hostname}`, "::1\tlocalhost ip6-localhost ip6-loopback", ...extra];
  return `${lines.join("\n")}\n`;
}

function depth(target: string): number {
  return target.split("/").filter(Boolean).length;
}

/** The helper's argv for a spec (exported for tests). */
export function helperArgs(spec: ProcessSpec, resolvConf: string): string[] {
  if (!isAbsolute(spec.rootfs)) throw specError(`rootfs ${JSON.stringify(spec.rootfs)} is not an absolute path`);
  if (spec.args.length === 0) throw specError("no command to run (empty args)");
  const hostname = spec.hostname ?? DEFAULT_HOSTNAME;
  const a = ["run", "--rootfs", spec.rootfs, "--status-fd", "3", "--hostname", hostname];
  if (spec.network === "none") a.push("--net-none");
  if (spec.readonlyRootfs) a.push("--ro");
  if (spec.user) a.push("--user", spec.user);
  if (spec.cwd) {
    if (!spec.cwd.startsWith("/")) throw specError(`working directory ${JSON.stringify(spec.cwd)} is not absolute`);
    a.push("--cwd", spec.cwd);
  }
  const declared = new Set(spec.mounts.map((m) => m.target.replace(/\/+$/, "")));
  const etc: Mount[] = [];
  const files: [string, string][] = [["/etc/resolv.conf", resolvConf], ["/etc/hosts", hostsFile(hostname, spec.extraHosts ?? [])]];
  const content = new Map<string, string>();
  for (const [target, text] of files) {
    if (declared.has(target)) continue;
    etc.push({ type: "secret", source: "", target, mode: 0o644, uid: 0, gid: 0 });
    content.set(target, text);
  }
  const ordered = [...etc, ...spec.mounts].map((m, i) => ({ m, i })).sort((x, y) => depth(x.m.target) - depth(y.m.target) || x.i - y.i);
  for (const { m } of ordered) {
    if (!isAbsolute(m.target)) throw specError(`mount target ${JSON.stringify(m.target)} is not absolute`);
    switch (m.type) {
      case "bind":
        a.push("--bind", m.source, m.target, m.readonly ? "ro" : "rw");
        break;
      case "tmpfs":
        a.push("--tmpfs", m.target, String(m.size ?? DEFAULT_TMPFS_SIZE), String(m.mode ?? 0o1777));
        break;
      case "secret": {
        const mode = String(m.mode ?? 0o400);
        const ids = [String(m.uid ?? 0), String(m.gid ?? 0)];
        const text = content.get(m.target);
        if (m.source === "" && text !== undefined) a.push("--write", m.target, mode, ...ids, text);
        else a.push("--copy", m.source, m.target, mode, ...ids);
        break;
      }
    }
  }
  a.push("--", ...spec.args);
  return a;
}

function specError(message: string): ExecutorError {
  return new ExecutorError("TSB_EXECUTOR_SPEC", message, { hint: "this is a bug in the caller of the sandbox" });
}

function statusError(text: string, spec: ProcessSpec): ExecutorError {
  const line = text.split("\n")[0]!.replace(/^tsbuild-helper: /, "");
  const kind = /^(\w+): /.exec(line)?.[1] ?? "setup";
  const message = line.replace(/^\w+: /, "");
  const table: Record<string, [ExecutorErrorCode, string, string]> = {
    user: ["TSB_EXECUTOR_USER", `cannot switch to user ${JSON.stringify(spec.user ?? "root")}: ${message}`, "check the USER and the image's /etc/passwd and /etc/group"],
    exec: ["TSB_EXECUTOR_EXEC", `cannot execute ${JSON.stringify(spec.args[0])}: ${message.replace(/^[^:]*: /, "")}`, "check that the command exists in the image and is in its PATH"],
    spec: ["TSB_EXECUTOR_SPEC", message, "this is a bug in the caller of the sandbox"],
  };
  const [code, msg, hint] = table[kind] ?? ["TSB_EXECUTOR_SETUP", `cannot set up the sandbox: ${message}`, "check the mounts of the step and that tsbuild runs in its session"];
  return new ExecutorError(code, msg, { hint });
}
