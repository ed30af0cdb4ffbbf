/**
 * The http source op (ADD https://…): the file is downloaded once per build into the root's tmp dir, verified
 * against --checksum, and keyed by its content digest (as BuildKit keys http sources), so an unchanged file keeps
 * later steps cached. Downloading happens in cacheMap (the key needs the content); exec returns the same file.
 * Not done yet: ETag / If-None-Match revalidation against an earlier download.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm, utimes } from "node:fs/promises";
import { posix, join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Dispatcher } from "undici";
import { loadHttpClient, type HttpClient } from "../util/http-client.js";
import { canonicalJson } from "../util/canonical-json.js";
import { sha256, type Digest } from "../util/digest.js";
import type { HttpSource, Vertex } from "../graph/index.js";
import type { Op } from "../solver/index.js";
import { OpsError } from "./errors.js";
import type { OpEnv } from "./resolver.js";
import type { OpResult } from "./types.js";
import { tempName } from "../store/index.js";

/** A finished download. */
export interface HttpDownload {
  readonly path: string;
  readonly filename: string;
  readonly digest: Digest;
  /** The file's mtime in Unix milliseconds (Last-Modified, else 0): part of the key, as the layer holds it. */
  readonly mtimeMs: number;
}

/** Downloads of one build, by vertex digest. */
export type HttpDownloads = Map<string, Promise<HttpDownload>>;

const MAX_REDIRECTS = 10;
let http: Promise<{ readonly request: HttpClient["request"]; readonly dispatcher: Dispatcher }> | undefined;
/** undici (loaded on the first download, not at start-up) and its redirect-following dispatcher. */
function httpClient(): Promise<{ readonly request: HttpClient["request"]; readonly dispatcher: Dispatcher }> {
  http ??= loadHttpClient().then(({ Agent, redirect, request }) => ({
    request,
    dispatcher: new Agent({ connect: { timeout: 30_000 } }).compose(redirect({ maxRedirections: MAX_REDIRECTS })),
  }));
  return http;
}

/** The file name BuildKit picks: the given one, Content-Disposition's, the URL's last path element, or `index`. */
function pickFilename(source: HttpSource, disposition: string | undefined): string {
  if (source.filename) return source.filename;
  const m = disposition ? /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition) : null;
  const fromHeader = m ? posix.basename(decodeURIComponent(m[1]!)) : "";
  if (fromHeader && fromHeader !== "." && fromHeader !== "/") return fromHeader;
  const base = posix.basename(new URL(source.url).pathname);
  return base && base !== "/" && base !== "." ? base : "index";
}

/** The URL without user info (never shown: it may hold credentials). */
function redactUrl(url: URL): string {
  if (!url.username && !url.password) return url.href;
  const u = new URL(url.href);
  u.username = "";
  u.password = "";
  return u.href;
}

async function download(source: HttpSource, env: OpEnv, signal: AbortSignal): Promise<HttpDownload> {
  let url: URL;
  try {
    url = new URL(source.url);
  } catch {
    throw new OpsError("TSB_OPS_HTTP_FAILED", "invalid URL in ADD", { hint: "check the ADD source" });
  }
  const shown = redactUrl(url);
  const fail = (why: string, cause?: unknown): OpsError =>
    new OpsError("TSB_OPS_HTTP_FAILED", `failed to download ${shown}: ${why}`, { cause, hint: "check the URL and the network (proxy variables are honoured by RUN only)" });
  let res: Dispatcher.ResponseData;
  try {
    const { request, dispatcher } = await httpClient();
    res = await request(url, { dispatcher, signal, headers: { "user-agent": "tsbuild" } });
  } catch (err) {
    if (signal.aborted) throw err;
    throw fail((err as Error).message, err);
  }
  if (res.statusCode < 200 || res.statusCode >= 300) {
    await res.body.dump().catch(() => {});
    throw fail(`HTTP ${res.statusCode}`);
  }
  const header = (name: string): string | undefined => {
    const h = res.headers[name];
    return Array.isArray(h) ? h[0] : h;
  };
  const filename = pickFilename(source, header("content-disposition"));
  // Named by tempName: a killed build's download is reaped by the next build.
  const dir = join(env.deps.layout.tmp, tempName());
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, "content");
  const hash = createHash("sha256");
  try {
    await pipeline(
      res.body,
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          cb(null, chunk);
        },
      }),
      createWriteStream(path, { mode: 0o600 }),
      { signal },
    );
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    if (signal.aborted) throw err;
    throw fail((err as Error).message, err);
  }
  const digest = `sha256:${hash.digest("hex")}` as Digest;
  if (source.checksum !== undefined && source.checksum !== digest) {
    await rm(dir, { recursive: true, force: true });
    throw new OpsError("TSB_OPS_HTTP_CHECKSUM", `digest mismatch for ${shown}: expected ${source.checksum}, got ${digest}`, {
      hint: "the remote file changed, or --checksum is wrong",
    });
  }
  // BuildKit's http source: the mtime is Last-Modified's, or the Unix epoch when there is none (or it is unparseable).
  const lastModified = header("last-modified");
  const parsed = lastModified ? new Date(lastModified) : undefined;
  const mtime = parsed && !Number.isNaN(parsed.getTime()) ? parsed : new Date(0);
  await utimes(path, mtime, mtime);
  return { path, filename, digest, mtimeMs: mtime.getTime() };
}

export function createHttpSourceOp(vertex: Vertex, source: HttpSource, env: OpEnv): Op<OpResult> {
  const get = (signal: AbortSignal): Promise<HttpDownload> => {
    let p = env.downloads.get(vertex.digest);
    if (!p) {
      p = download(source, env, signal);
      env.downloads.set(vertex.digest, p);
      p.catch(() => env.downloads.delete(vertex.digest));
    }
    return p;
  };
  return {
    async cacheMap(ctx) {
      const d = await get(ctx.signal);
      return {
        opDigest: sha256(canonicalJson({ v: 2, type: "http", content: d.digest, filename: d.filename, mtimeMs: d.mtimeMs })),
        deps: [],
        explain: { url: redactUrl(new URL(source.url)), content: d.digest },
      };
    },
    async exec(_inputs, ctx): Promise<OpResult> {
      const d = await get(ctx.signal);
      return { kind: "http", path: d.path, filename: d.filename, digest: d.digest };
    },
  };
}
