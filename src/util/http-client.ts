/**
 * undici's Agent, redirect interceptor and request(), loaded without the rest of undici. Its index requires ~100
 * CommonJS modules (fetch, WebSocket, mocks, caches, proxies) that tsbuild never uses: 45–60 ms of start-up on every
 * pull, push or ADD of a URL. The three deep paths belong to the exact undici version pinned in package.json (it has
 * no exports map); should they ever fail to load, the full package is used instead.
 */
import { createRequire } from "node:module";
import type * as Undici from "undici";

/** The parts of undici tsbuild uses. */
export interface HttpClient {
  readonly Agent: typeof Undici.Agent;
  readonly redirect: typeof Undici.interceptors.redirect;
  /** undici's request(url, options) (options.dispatcher required). */
  readonly request: typeof Undici.request;
}

let loaded: Promise<HttpClient> | undefined;
let source: "lite" | "full" | undefined;

/** Which way undici was loaded (for tests): the three modules, or the whole package as a fallback. */
export function httpClientSource(): "lite" | "full" | undefined {
  return source;
}

/** undici's client parts, loaded on first use. */
export function loadHttpClient(): Promise<HttpClient> {
  loaded ??= Promise.resolve().then(() => {
    try {
      const lite = loadLite();
      source = "lite";
      return lite;
    } catch {
      source = "full";
      return import("undici").then((u) => ({ Agent: u.Agent, redirect: u.interceptors.redirect, request: u.request }));
    }
  });
  return loaded;
}

type ApiRequest = (this: Undici.Dispatcher, opts: Record<string, unknown>) => Promise<Undici.Dispatcher.ResponseData>;

function loadLite(): HttpClient {
  const require = createRequire(import.meta.url);
  const Agent = require("undici/lib/dispatcher/agent.js") as typeof Undici.Agent;
  const redirect = require("undici/lib/interceptor/redirect.js") as typeof Undici.interceptors.redirect;
  const apiRequest = require("undici/lib/api/api-request.js") as ApiRequest;
  if (typeof Agent !== "function" || typeof redirect !== "function" || typeof apiRequest !== "function") throw new Error("unexpected undici layout");
  // What undici's own request() does before it calls the dispatcher (its makeDispatcher wrapper).
  const request = ((url: string | URL, opts: { dispatcher: Undici.Dispatcher; method?: string; body?: unknown } & Record<string, unknown>) => {
    const u = typeof url === "string" ? new URL(url) : url;
    const { dispatcher, ...rest } = opts;
    return apiRequest.call(dispatcher, {
      ...rest,
      origin: u.origin,
      path: u.search ? `${u.pathname}${u.search}` : u.pathname,
      method: rest.method || (rest.body ? "PUT" : "GET"),
    });
  }) as unknown as typeof Undici.request;
  return { Agent, redirect, request };
}
