/**
 * The context argument of `tsbuild build` when it is not a directory: a tar archive on standard input, an http(s)
 * URL or a git repository (docker's rules, see classifyContext). The process the user started fetches it once into
 * a scratch directory of the root (`<root>/tmp/<temp name>`, reaped by a later build if this process is killed),
 * hands it to the session through `TSBUILD_FETCHED_CONTEXT`, and removes it when the build is over.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../../errors.js";

/** A fetched context as the session receives it. */
export interface FetchedContextArg {
  readonly contextDir: string;
  readonly dockerfile?: string;
  readonly commitTime?: number;
  /** The source as it may be printed (`-`, or a URL without credentials). */
  readonly shown: string;
  /** Remove the scratch directory (a no-op in a process that did not fetch it). */
  release(): Promise<void>;
}

const ENV = "TSBUILD_FETCHED_CONTEXT";

/**
 * Fetch the context named by `context` when it is not a directory; undefined for a directory, and for standard
 * input holding a Dockerfile (then left stashed for the Dockerfile-on-stdin path, `TSBUILD_STDIN_DOCKERFILE`).
 */
export async function fetchContextArg(a: { readonly context: string; readonly file?: string; readonly root?: string }, env: NodeJS.ProcessEnv): Promise<FetchedContextArg | undefined> {
  const stashed = env[ENV];
  if (stashed) {
    const s = JSON.parse(stashed) as Omit<FetchedContextArg, "release">;
    return { ...s, release: () => Promise.resolve() };
  }
  const ctx = await import("../../context/index.js");
  const source = ctx.classifyContext(a.context);
  if (source.kind === "dir") return undefined;
  const { resolveRoot, rootLayout, tempName } = await import("../../store/index.js");
  const layout = rootLayout(resolveRoot({ root: a.root }));
  let stdin: import("node:stream").Readable | undefined;
  if (source.kind === "stdin") {
    const { bothStdin, readStdinDockerfile } = await import("./dockerfile-input.js");
    if (a.file === "-") throw bothStdin();
    if (env.TSBUILD_STDIN_DOCKERFILE) return undefined;
    const { peek } = await import("../../util/archive-stream.js");
    const { head, stream } = await peek(process.stdin, 512);
    if (!ctx.isContextArchive(head)) {
      // A Dockerfile: stash it where the Dockerfile-on-stdin path (and the session) will read it.
      const text = await readStdinDockerfile(stream);
      await mkdir(layout.tmp, { recursive: true });
      const path = join(layout.tmp, tempName());
      await writeFile(path, text, { mode: 0o600 });
      process.env.TSBUILD_STDIN_DOCKERFILE = path;
      return undefined;
    }
    stdin = stream;
  }
  await mkdir(layout.tmp, { recursive: true });
  const scratchDir = join(layout.tmp, tempName());
  await mkdir(scratchDir, { mode: 0o700 });
  const release = (): Promise<void> => rm(scratchDir, { recursive: true, force: true }).catch(() => {});
  return fetching("the build context", release, async (signal) => {
    const fetched = await ctx.fetchContext(source, {
      scratchDir,
      ...(a.file === "-" ? { dockerfile: null } : a.file !== undefined ? { dockerfile: a.file } : {}),
      ...(stdin ? { stdin } : {}),
      signal,
    });
    const out = {
      contextDir: fetched.contextDir,
      ...(fetched.dockerfile !== undefined ? { dockerfile: fetched.dockerfile } : {}),
      ...(fetched.commitTime !== undefined ? { commitTime: fetched.commitTime } : {}),
      shown: fetched.shown,
    };
    process.env[ENV] = JSON.stringify(out);
    return { ...out, release };
  });
}

/**
 * Run a fetch that Ctrl-C (SIGINT/SIGTERM) cancels through `signal`: on any failure `release` removes what was
 * fetched, and a cancelled fetch fails with TSB_CONTEXT_INTERRUPTED naming `what`.
 */
async function fetching<T>(what: string, release: () => Promise<void>, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSignal = (): void => ac.abort(new TsbuildError("TSB_CONTEXT_INTERRUPTED", `interrupted while fetching ${what}`));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await fn(ac.signal);
  } catch (err) {
    await release();
    if (ac.signal.aborted) throw ac.signal.reason;
    throw err;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

const NAMED_ENV = "TSBUILD_FETCHED_NAMED";

/**
 * `--build-context NAME=GIT-URL` (`https://…/repo.git#ref:subdir`, `git@host:repo`, `git://…`, `github.com/…`, as
 * BuildKit's named contexts): cloned once into the root's scratch space, like a git build context, and passed on
 * as `NAME=DIR`. Other values are returned as given. The session receives the result through
 * `TSBUILD_FETCHED_NAMED`; `release` removes the clones (a no-op in a process that did not make them).
 */
export async function fetchNamedContexts(values: readonly string[], root: string | undefined, env: NodeJS.ProcessEnv): Promise<{ values: readonly string[]; release(): Promise<void> }> {
  const stashed = env[NAMED_ENV];
  if (stashed) return { values: JSON.parse(stashed) as string[], release: () => Promise.resolve() };
  const none = { values, release: () => Promise.resolve() };
  if (values.length === 0) return none;
  const ctx = await import("../../context/index.js");
  const gitOf = (v: string) => {
    const target = v.slice(v.indexOf("=") + 1);
    if (v.indexOf("=") <= 0 || /^(docker-image|oci-layout):\/\//.test(target)) return undefined;
    const source = ctx.classifyContext(target);
    return source.kind === "git" ? source : undefined;
  };
  if (!values.some((v) => gitOf(v) !== undefined)) return none;
  const { resolveRoot, rootLayout, tempName } = await import("../../store/index.js");
  const layout = rootLayout(resolveRoot({ root }));
  const scratch: string[] = [];
  const release = async (): Promise<void> => {
    for (const d of scratch) await rm(d, { recursive: true, force: true }).catch(() => {});
  };
  return fetching("a named build context", release, async (signal) => {
    const out: string[] = [];
    for (const v of values) {
      const source = gitOf(v);
      if (!source) {
        out.push(v);
        continue;
      }
      await mkdir(layout.tmp, { recursive: true });
      const scratchDir = join(layout.tmp, tempName());
      await mkdir(scratchDir, { mode: 0o700 });
      scratch.push(scratchDir);
      const fetched = await ctx.fetchContext(source, { scratchDir, dockerfile: null, signal });
      out.push(`${v.slice(0, v.indexOf("="))}=${fetched.contextDir}`);
    }
    process.env[NAMED_ENV] = JSON.stringify(out);
    return { values: out, release };
  });
}

/**
 * Read-only commands (`build --check`, `graph`): run `fn` on arguments whose context is a directory. An http(s) or
 * git context is fetched first (into the root's scratch space, removed afterwards), `-f` then names a file inside
 * it; `shownFile` is the Dockerfile name to print. Other contexts (a directory, `-`) are passed through as given.
 */
export async function withLocalContext<A extends { readonly context?: string; readonly file?: string; readonly root?: string }, T>(
  a: A,
  fn: (local: A, shownFile: string | undefined) => Promise<T>,
): Promise<T> {
  const { classifyContext } = await import("../../context/index.js");
  const kind = a.context === undefined ? "dir" : classifyContext(a.context).kind;
  if (kind !== "http" && kind !== "git") return fn(a, undefined);
  const fetched = await fetchContextArg({ ...a, context: a.context! }, process.env);
  if (!fetched) return fn(a, undefined);
  try {
    return await fn({ ...a, context: fetched.contextDir, file: fetched.dockerfile ?? join(fetched.contextDir, "Dockerfile") }, a.file ?? "Dockerfile");
  } finally {
    await fetched.release();
  }
}
