/**
 * A git repository as the build context (`tsbuild build URL#ref:subdir`), cloned with the `git` binary: a shallow
 * fetch of the one ref (or the remote's HEAD), checked out detached with its submodules, `.git` removed as BuildKit
 * does by default.
 * git never prompts (no terminal), and its messages are shown with credentials taken out of URLs.
 */
import { spawn } from "node:child_process";
import { realpath, rm, stat } from "node:fs/promises";
import { join, sep } from "node:path";
import { ContextError } from "./errors.js";
import { redactUrl } from "./remote-url.js";

/** A git context as `docker build` reads it: the remote, and the `#ref:subdir` fragment. */
export interface GitContextSpec {
  /** What git is given (no fragment). */
  readonly remote: string;
  /** Branch, tag, full ref or commit; the remote's HEAD when absent. */
  readonly ref?: string;
  /** Directory inside the repository used as the context. */
  readonly subdir?: string;
}

/** What a clone gave. */
export interface ClonedGit {
  /** The context directory (the checkout, or its subdir). */
  readonly contextDir: string;
  /** Committer time of the checked-out commit (Unix seconds). */
  readonly commitTime: number | undefined;
  readonly commit: string;
}

function gitError(spec: GitContextSpec, what: string, hint: string, cause?: unknown): ContextError {
  const shown = redactUrl(spec.remote) + (spec.ref !== undefined || spec.subdir !== undefined ? `#${spec.ref ?? ""}${spec.subdir !== undefined ? `:${spec.subdir}` : ""}` : "");
  return new ContextError("TSB_CONTEXT_GIT", `cannot fetch the git build context ${shown}: ${what}`, undefined, { hint, ...(cause ? { cause } : {}) });
}

/** Run git; resolves with stdout, rejects with the last lines of stderr (credentials taken out). */
function git(args: readonly string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "", SSH_ASKPASS: "", GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? "ssh -o BatchMode=yes", LC_ALL: "C" },
      ...(signal ? { signal } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => reject(e));
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else {
        const text = Buffer.concat(err).toString("utf8").replace(/[a-z][a-z0-9+.-]*:\/\/[^\s'"]*/gi, (u) => redactUrl(u));
        reject(Object.assign(new Error(text.trim().split("\n").slice(-3).join("; ") || `git exited with ${code}`), { exitCode: code }));
      }
    });
  });
}

/** Clone `spec` into the empty directory `dir` (shallow, at its ref). */
export async function cloneGitContext(spec: GitContextSpec, dir: string, signal?: AbortSignal): Promise<ClonedGit> {
  try {
    await git(["init", "-q", dir], signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw gitError(spec, "the git command is not installed", "apt-get install git", err);
    throw gitError(spec, (err as Error).message, "check that the tsbuild root is writable", err);
  }
  const want = spec.ref ?? "HEAD";
  const fetch = (extra: readonly string[], what: string) => git(["-C", dir, "-c", "protocol.file.allow=never", "fetch", "-q", "--no-tags", ...extra, "--", spec.remote, ...(what ? [what] : [])], signal);
  try {
    try {
      await fetch(["--depth", "1"], want);
    } catch (err) {
      // A commit the server does not let us name: fetch everything, then look the commit up.
      if (spec.ref === undefined || !/^[0-9a-f]{7,64}$/i.test(spec.ref)) throw err;
      await fetch([], "");
    }
    const target = spec.ref !== undefined && /^[0-9a-f]{7,64}$/i.test(spec.ref) ? spec.ref : "FETCH_HEAD";
    await git(["-C", dir, "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", target], signal);
    // Submodules are fetched as BuildKit does by default (never from local paths: protocol.file is refused).
    if (await stat(join(dir, ".gitmodules")).then((s) => s.isFile(), () => false)) {
      await git(["-C", dir, "-c", "protocol.file.allow=never", "submodule", "update", "-q", "--init", "--recursive", "--depth", "1"], signal);
    }
  } catch (err) {
    if (signal?.aborted) throw err;
    throw gitError(spec, (err as Error).message, spec.ref !== undefined ? `check the URL and that ${JSON.stringify(spec.ref)} is a branch, tag or commit of it` : "check the URL, and that the repository is reachable without a password prompt");
  }
  const commit = (await git(["-C", dir, "rev-parse", "HEAD"], signal)).trim();
  const ct = (await git(["-C", dir, "log", "-1", "--format=%ct", "HEAD"], signal)).trim();
  const top = await realpath(dir);
  const modules = (await git(["-C", dir, "submodule", "foreach", "--quiet", "--recursive", "pwd"], signal)).split("\n").filter((p) => p.startsWith(top + sep));
  for (const m of [...modules, top]) await rm(join(m, ".git"), { recursive: true, force: true });
  let contextDir = dir;
  if (spec.subdir !== undefined && spec.subdir !== "") {
    const base = await realpath(dir);
    let real: string;
    try {
      real = await realpath(join(dir, spec.subdir));
    } catch (err) {
      throw gitError(spec, `the repository has no directory ${JSON.stringify(spec.subdir)}`, "check the :subdir part of the URL", err);
    }
    if (real !== base && !real.startsWith(base + sep)) throw gitError(spec, `${JSON.stringify(spec.subdir)} leads outside of the repository`, "give a directory inside the repository");
    if (!(await stat(real)).isDirectory()) throw gitError(spec, `${JSON.stringify(spec.subdir)} is not a directory`, "check the :subdir part of the URL");
    contextDir = real;
  }
  return { contextDir, commitTime: /^\d+$/.test(ct) ? Number(ct) : undefined, commit };
}
