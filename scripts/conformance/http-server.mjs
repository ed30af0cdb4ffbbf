// The conformance cases' web server, for `ADD http://…`: the reference (dockerd builds with --network host) and
// tsbuild download from the same server on a fixed loopback port, so the URL (and the history entry that shows it)
// is the same on both sides. Files: fixtures/conformance/<case>/http/<rel>, served at /<case>/<rel>.
//
//   - every response has `Last-Modified: <HTTP_LAST_MODIFIED>` (pinned, before CONTEXT_EPOCH), except under a
//     `no-last-modified/` directory;
//   - under `disposition/`, also `Content-Disposition: attachment; filename="from-header.bin"`;
//   - `/<case>/redirect/<rel>` answers 302 to `/<case>/<rel>`;
//   - a path ending in `/` serves `<rel>index`; the query string never changes which file is served.
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, request } from "node:http";
import { join, normalize } from "node:path";
import { CASES_ROOT } from "./cases.mjs";

/** The fixed loopback port of the conformance web server. */
export const HTTP_PORT = 38471;
/** Base URL of the server (Dockerfiles write it literally). */
export const HTTP_BASE = `http://127.0.0.1:${HTTP_PORT}`;
/** The Last-Modified time the server sends (Unix seconds). */
export const HTTP_LAST_MODIFIED = 1500000000;
const PROBE = "/__tsb-conformance";

function handle(req, res) {
  const url = new URL(req.url ?? "/", HTTP_BASE);
  if (url.pathname === PROBE) return void res.end("tsb-conformance\n");
  const parts = url.pathname.split("/").filter(Boolean).map((p) => decodeURIComponent(p));
  const [name, ...rest] = parts;
  if (name && rest[0] === "redirect") {
    res.writeHead(302, { location: `/${name}/${rest.slice(1).join("/")}${url.pathname.endsWith("/") ? "/" : ""}${url.search}` });
    return void res.end();
  }
  const rel = rest.join("/") + (url.pathname.endsWith("/") ? `${rest.length ? "/" : ""}index` : "");
  const file = name ? normalize(join(CASES_ROOT, name, "http", rel)) : "";
  if (!name || !file.startsWith(join(CASES_ROOT, name, "http")) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404);
    return void res.end("not found\n");
  }
  const body = readFileSync(file);
  const headers = { "content-type": "application/octet-stream", "content-length": body.length };
  if (!rest.includes("no-last-modified")) headers["last-modified"] = new Date(HTTP_LAST_MODIFIED * 1000).toUTCString();
  if (rest.includes("disposition")) headers["content-disposition"] = 'attachment; filename="from-header.bin"';
  res.writeHead(200, headers);
  res.end(req.method === "HEAD" ? undefined : body);
}

function probe() {
  return new Promise((resolve) => {
    const r = request(`${HTTP_BASE}${PROBE}`, (res) => {
      let s = "";
      res.on("data", (d) => (s += d));
      res.on("end", () => resolve(s === "tsb-conformance\n"));
    });
    r.on("error", () => resolve(false));
    r.end();
  });
}

/**
 * Start the server on 127.0.0.1:HTTP_PORT. When the port is taken by another conformance server (another run of
 * the suite), that one serves the same files and is used. Resolves to `{ close() }`.
 */
export function startHttpServer() {
  return new Promise((resolve, reject) => {
    const server = createServer(handle);
    server.once("error", async (err) => {
      if (err.code === "EADDRINUSE" && (await probe())) resolve({ close: async () => {} });
      else reject(new Error(`the conformance web server cannot listen on 127.0.0.1:${HTTP_PORT}: ${err.message}`));
    });
    server.listen(HTTP_PORT, "127.0.0.1", () => {
      server.unref();
      resolve({ close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}
