/**
 * Build contexts that are not a directory on disk — a tar archive on standard input, an http(s) URL (a tarball, or
 * a plain-text Dockerfile with an empty context), a git repository — fetched into a scratch directory the caller
 * owns (and removes), so the rest of tsbuild reads them as directories. Messages never show URL credentials.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, realpath, rename, rm, stat } from "node:fs/promises";
import { join, posix, sep } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { extractContextArchive, isContextArchive, type ArchiveLimits } from "./archive-context.js";
import { loadHttpClient } from "../util/http-client.js";
import { ContextError } from "./errors.js";
import { cloneGitContext } from "./git-context.js";
import { redactUrl, type ContextSource } from "./remote-url.js";

/** Options of {@link fetchContext}. */
export interface FetchContextOptions {
  /** An empty directory tsbuild owns; everything fetched goes below it. The caller removes it after the build. */
  readonly scratchDir: string;
  /** `-f PATH`: the Dockerfile's path inside the context; `null` when it comes from elsewhere. @default "Dockerfile" */
  readonly dockerfile?: string | null;
  /** The archive, for a `stdin` source (already known to be one: see {@link isContextArchive}). */
  readonly stdin?: Readable;
  readonly signal?: AbortSignal;
  readonly limits?: ArchiveLimits;
  /** Redirects followed for an http(s) context. @default 10 */
  readonly maxRedirects?: number;
}

/** A fetched context, read as a directory from now on. */
export interface FetchedContext {
  readonly contextDir: string;
  /** Absolute path of the Dockerfile (inside `contextDir`, or beside it for a plain-text URL); absent with `dockerfile: null`. */
  readonly dockerfile?: string;
  /** Whether the Dockerfile came from the URL body itself (then `-f` was not used). */
  readonly dockerfileFromBody: boolean;
  /** For git: the commit's time (Unix seconds), the default SOURCE_DATE_EPOCH as for a git checkout. */
  readonly commitTime?: number;
  /** The source as it may be printed (no credentials). */
  readonly shown: string;
}

/** Fetch a non-directory context source into `opts.scratchDir`. */
export async function fetchContext(source: Exclude<ContextSource, { kind: "dir" }>, opts: FetchContextOptions): Promise<FetchedContext> {
  const contextDir = join(opts.scratchDir, "context");
  await mkdir(contextDir, { recursive: true, mode: 0o755 });
  switch (source.kind) {
    case "stdin": {
      if (!opts.stdin) throw new ContextError("TSB_CONTEXT_STDIN", "no standard input to read the build context from", undefined, { hint: "pipe a tar archive: tsbuild build - < context.tar" });
      await extractContextArchive(opts.stdin, contextDir, opts.limits, opts.signal);
      return { contextDir, ...(await dockerfileIn(contextDir, opts.dockerfile, "standard input")), dockerfileFromBody: false, shown: "-" };
    }
    case "http": {
      const shown = redactUrl(source.url);
      const body = join(opts.scratchDir, "body");
      await download(source.url, body, opts);
      const fh = await open(body, "r");
      const head = Buffer.alloc(512);
      const { bytesRead } = await fh.read(head, 0, 512, 0).finally(() => fh.close());
      if (isContextArchive(head.subarray(0, bytesRead))) {
        await extractContextArchive(createReadStream(body), contextDir, opts.limits, opts.signal);
        await rm(body, { force: true });
        return { contextDir, ...(await dockerfileIn(contextDir, opts.dockerfile, shown)), dockerfileFromBody: false, shown };
      }
      // Not an archive: the body is the Dockerfile and the context is empty (as `docker build URL`).
      const dockerfile = join(opts.scratchDir, "Dockerfile");
      await rename(body, dockerfile);
      return { contextDir, dockerfile, dockerfileFromBody: true, shown };
    }
    case "git": {
      const cloned = await cloneGitContext(source, contextDir, opts.signal);
      const shown = redactUrl(source.remote);
      return {
        contextDir: cloned.contextDir,
        ...(await dockerfileIn(cloned.contextDir, opts.dockerfile, shown)),
        dockerfileFromBody: false,
        ...(cloned.commitTime !== undefined ? { commitTime: cloned.commitTime } : {}),
        shown,
      };
    }
  }
}

/** The Dockerfile inside a fetched context; it must exist and (after symlinks) stay inside it. */
async function dockerfileIn(contextDir: string, file: string | null | undefined, shown: string): Promise<{ dockerfile?: string }> {
  if (file === null) return {};
  const name = posix.normalize(posix.join("/", file ?? "Dockerfile")).slice(1);
  const notFound = (cause?: unknown): ContextError =>
    new ContextError("TSB_CONTEXT_NO_DOCKERFILE", `the build context from ${shown} has no Dockerfile ${JSON.stringify(name)}`, name, {
      hint: file === undefined ? "put a Dockerfile at the top of the context, or name it with -f PATH (a path inside the context)" : "-f names a path inside the context",
      ...(cause ? { cause } : {}),
    });
  const base = await realpath(contextDir);
  let real: string;
  try {
    real = await realpath(join(contextDir, name));
  } catch (err) {
    throw notFound(err);
  }
  if (!real.startsWith(base + sep) || !(await stat(real)).isFile()) throw notFound();
  return { dockerfile: real };
}

/** Download `url` to `dest`: redirects followed, a non-2xx status is an error naming it, the size bounded. */
async function download(url: string, dest: string, opts: FetchContextOptions): Promise<void> {
  const shown = redactUrl(url);
  const fail = (what: string, hint: string, cause?: unknown): ContextError =>
    new ContextError("TSB_CONTEXT_HTTP", `cannot download the build context ${shown}: ${what}`, undefined, { hint, ...(cause ? { cause } : {}) });
  const { Agent, redirect, request } = await loadHttpClient();
  const dispatcher = new Agent({ connect: { timeout: 30_000 } }).compose(redirect({ maxRedirections: opts.maxRedirects ?? 10 }));
  try {
    let res;
    try {
      res = await request(url, { dispatcher, method: "GET", ...(opts.signal ? { signal: opts.signal } : {}), headers: { "user-agent": "tsbuild" } });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
      throw fail(code ? `the request failed (${code})` : "the request failed", "check the URL and that the server is reachable", err);
    }
    if (res.statusCode < 200 || res.statusCode > 299) {
      await res.body.dump().catch(() => {});
      throw fail(`HTTP status ${res.statusCode}`, res.statusCode === 401 || res.statusCode === 403 ? "the server refused access: check the URL and its credentials" : "check the URL");
    }
    const max = opts.limits?.maxTotalBytes ?? 100 * 2 ** 30;
    let size = 0;
    const bound = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        cb(size > max ? fail(`the body is larger than ${max} bytes`, "give a smaller context") : null, chunk);
      },
    });
    try {
      await pipeline(res.body, bound, createWriteStream(dest, { mode: 0o600 }));
    } catch (err) {
      if (err instanceof ContextError || opts.signal?.aborted) throw err;
      throw fail(`the download broke off (${(err as Error).message})`, "try again; check the server", err);
    }
  } finally {
    await dispatcher.close().catch(() => {});
  }
}
