import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { constants as osConstants, userInfo } from "node:os";
import { ExecutorError } from "./errors.js";
import { IDENTITY_MAP, isIdentityMap, mapToArgs, parseIdMap, readSubIds, sessionMap, type IdMap } from "./idmap.js";
import { helperPath } from "./native.js";

/** The environment marker the session helper sets in the re-executed process. */
export const SESSION_ENV = "TSBUILD_SESSION";

/**
 * The tsbuild session this process runs in: uid 0 with a private mount namespace. `root` is real root (identity
 * maps); `userns` is root of a user namespace whose maps translate session ids ↔ host ids.
 */
export interface Session {
  readonly kind: "root" | "userns";
  /** Session uid → host uid (as /proc/self/uid_map). Identity for real root. */
  readonly uidMap: IdMap;
  /** Session gid → host gid (as /proc/self/gid_map). */
  readonly gidMap: IdMap;
  /** True when only id 0 is mapped: chown to any other id fails. */
  readonly singleId: boolean;
}

/** What {@link ensureSession} did: either we are inside, or it ran a re-executed copy of us to completion. */
export type SessionOutcome =
  | { readonly inside: true; readonly session: Session }
  | { readonly inside: false; readonly exitCode: number; readonly signal: NodeJS.Signals | undefined };

/** Options of {@link ensureSession} and {@link runInSession}. */
export interface SessionOptions {
  /** Where the one-time warning about a missing subordinate id range goes. @default process.stderr */
  readonly warn?: (message: string) => void;
  /** Environment of the command. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** The session this process is in, or undefined when it is not uid 0 (then it must re-exec through a session). */
export function currentSession(): Session | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uidMap = readMap("uid");
  const gidMap = readMap("gid");
  const kind = isIdentityMap(uidMap) ? "root" : "userns";
  const singleId = kind === "userns" && uidMap.reduce((n, e) => n + e.size, 0) <= 1;
  return Object.freeze({ kind, uidMap, gidMap, singleId });
}

function readMap(which: "uid" | "gid"): IdMap {
  try {
    return parseIdMap(readFileSync(`/proc/self/${which}_map`, "utf8"));
  } catch {
    return IDENTITY_MAP;
  }
}

/** Whether this process was started by a tsbuild session helper (or descends from one) and is session root. */
export function inSession(): boolean {
  return process.env[SESSION_ENV] === "1" && currentSession() !== undefined;
}

/**
 * Make sure the rest of this process runs as session root. Inside a session, returns it. Otherwise re-executes
 * the current node process (`process.execPath`, `process.execArgv`, then `argv`, normally `process.argv.slice(1)`)
 * inside a new session, forwarding stdio, signals and the exit status, and resolves when that copy exits: the
 * caller must then exit with `exitCode` without doing anything else.
 */
export async function ensureSession(argv: readonly string[], options: SessionOptions = {}): Promise<SessionOutcome> {
  if (process.env[SESSION_ENV] === "1") {
    const session = currentSession();
    if (session) return { inside: true, session };
    throw new ExecutorError("TSB_EXECUTOR_SESSION", `${SESSION_ENV}=1 is set but this process is not uid 0 of a session`, {
      hint: `unset ${SESSION_ENV} in the environment and run tsbuild again`,
    });
  }
  const r = await runInSession([process.execPath, ...process.execArgv, ...argv], options);
  return { inside: false, ...r };
}

/**
 * Run `command` (argv[0] looked up in PATH) inside a new session, like `buildah unshare`: stdio inherited, SIGTERM,
 * SIGHUP, SIGUSR1/2 (and SIGINT/SIGQUIT when stdin is not a terminal, which delivers those itself) forwarded.
 * Already in a session, it just runs the command. Resolves with its exit code (128+N when killed by signal N).
 */
export async function runInSession(
  command: readonly string[],
  options: SessionOptions = {},
): Promise<{ exitCode: number; signal: NodeJS.Signals | undefined }> {
  if (command.length === 0) throw new ExecutorError("TSB_EXECUTOR_SPEC", "no command to run in the session", { hint: "name a command" });
  const env = options.env ?? process.env;
  const argv = inSession() ? [...command] : [helperPath(), "session", ...sessionArgs(options), "--", ...command];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: "inherit", env });
  const forwarded: NodeJS.Signals[] = ["SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2"];
  if (!process.stdin.isTTY) forwarded.push("SIGINT", "SIGQUIT");
  const ignored: NodeJS.Signals[] = process.stdin.isTTY ? ["SIGINT", "SIGQUIT"] : [];
  const forward = (sig: NodeJS.Signals) => void child.kill(sig);
  const ignore = () => {};
  for (const s of forwarded) process.on(s, forward);
  for (const s of ignored) process.on(s, ignore);
  try {
    return await new Promise((resolve, reject) => {
      child.once("error", (err) =>
        reject(new ExecutorError("TSB_EXECUTOR_SESSION", `cannot start ${argv[0]}: ${err.message}`, { cause: err, hint: "check that the command exists in PATH" })),
      );
      child.once("exit", (code, signal) => {
        if (signal) resolve({ exitCode: 128 + (osConstants.signals[signal] ?? 0), signal });
        else resolve({ exitCode: code ?? 1, signal: undefined });
      });
    });
  } finally {
    for (const s of forwarded) process.off(s, forward);
    for (const s of ignored) process.off(s, ignore);
  }
}

let warned = false;

/** The helper arguments for a new session of the current user. */
function sessionArgs(options: SessionOptions): string[] {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  if (uid === 0) return ["--root"];
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = undefined;
  }
  const subuids = readSubIds("/etc/subuid", name, uid);
  const subgids = readSubIds("/etc/subgid", name, uid);
  if (subuids.length === 0 || subgids.length === 0) {
    if (!warned) {
      warned = true;
      const who = name ?? String(uid);
      const msg =
        `tsbuild: warning: user '${who}' has no subordinate uid/gid range in /etc/subuid and /etc/subgid, so builds run ` +
        `with a single id: files cannot be owned by any user but root (chown fails, apt and most package installs break).\n` +
        `tsbuild: to fix it: sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${who}\n`;
      (options.warn ?? ((m: string) => process.stderr.write(m)))(msg);
    }
    return ["--single"];
  }
  return ["--uid-map", mapToArgs(sessionMap(uid, subuids)), "--gid-map", mapToArgs(sessionMap(gid, subgids))];
}
