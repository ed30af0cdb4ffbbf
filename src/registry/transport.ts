/**
 * HTTP to registries over one undici Agent (a keep-alive pool per origin): scheme choice (HTTPS unless the host is
 * loopback or listed as insecure), authentication round trips, retries within a shared budget, timeouts, and
 * per-host queues (4 transfers per host; manifests jump the line). `close()` ends keep-alive sockets.
 */
import type { Agent, Dispatcher } from "undici";
import { loadHttpClient, type HttpClient } from "../util/http-client.js";
import PQueue from "p-queue";
import type { IncomingHttpHeaders } from "node:http";
import { Authenticator } from "./auth.js";
import type { CredentialSource } from "./credentials.js";
import { errorFromNetwork, errorFromResponse, type ErrorContext } from "./errors.js";
import {
  DEFAULT_RETRY_POLICY, RetryBudget, backoffDelay, delay, isRetryableError, isRetryableStatus, parseRetryAfter, type RetryPolicy,
} from "./retry.js";

/** Timeouts in milliseconds. */
export interface TransportTimeouts {
  /** TCP/TLS connect. @default 15000 */
  readonly connectMs: number;
  /** From request sent to response headers. @default 60000 */
  readonly headersMs: number;
  /** Longest silence while a body streams (a stalled transfer fails after this, then is retried/resumed). @default 60000 */
  readonly bodyMs: number;
}

/** Options of a Transport. */
export interface TransportOptions {
  /** Hosts (`host` or `host:port`) spoken to over plain HTTP besides localhost, 127.0.0.0/8 and ::1. */
  readonly insecureRegistries?: readonly string[];
  /** Where credentials come from. @default none (anonymous) */
  readonly credentials?: CredentialSource;
  readonly retry?: Partial<RetryPolicy>;
  readonly timeouts?: Partial<TransportTimeouts>;
  /** Transfers in flight per registry host. Minimum 1. @default env TSBUILD_REGISTRY_CONCURRENCY, else DEFAULT_CONCURRENCY */
  readonly concurrencyPerHost?: number;
  /** A dispatcher to use instead of the built-in Agent (tests: undici MockAgent). Not closed by `close()`. */
  readonly dispatcher?: Dispatcher;
}

/** Request body factory: called again for every attempt, so retries resend from the start. */
export type BodyFactory = () => Uint8Array | string | AsyncIterable<Uint8Array>;

/** One registry request. */
export interface RegistryRequest {
  readonly registry: string;
  readonly method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** `/v2/…` path (with query), or an absolute URL (upload locations). */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: BodyFactory;
  /** Token scopes the request needs (`repository:NAME:pull`). */
  readonly scopes: readonly string[];
  /** Statuses returned to the caller; anything else becomes a RegistryError (after retries). */
  readonly accept: readonly number[];
  readonly ctx: ErrorContext;
  readonly signal?: AbortSignal | undefined;
  /** Retry on connection errors/5xx/429. Off for requests whose effect is not idempotent. @default true */
  readonly retry?: boolean;
}

/** A response whose status was in `accept`. The caller must consume or dump `body`. */
export interface RegistryResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Dispatcher.ResponseData["body"];
  /** The URL that was requested (for resolving relative `Location`s). */
  readonly url: string;
}

/** True for hosts tsbuild talks to over plain HTTP without being told: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(registry: string): boolean {
  const host = registry.startsWith("[") ? registry.slice(1, registry.indexOf("]")) : registry.replace(/:\d+$/, "");
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Header value as one string. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Transfers in flight per registry host unless told otherwise. */
export const DEFAULT_CONCURRENCY = 4;


/** TSBUILD_REGISTRY_CONCURRENCY (a positive integer), for tuning without code; undefined when unset or invalid. */
function envConcurrency(): number | undefined {
  const n = Number(process.env.TSBUILD_REGISTRY_CONCURRENCY);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

export class Transport {
  /**
   * What requests go through (the Agent with a redirect interceptor: blob GETs often redirect to storage), made on
   * the first request: undici is loaded only then, so builds that never talk to a registry do not pay for it.
   */
  #agent: Promise<{ readonly request: HttpClient["request"]; readonly dispatcher: Dispatcher }> | undefined;
  /** The Agent we created and must destroy; undefined when the caller injected a dispatcher or none was needed yet. */
  #ownAgent: Agent | undefined;
  readonly #injected: Dispatcher | undefined;
  readonly #insecure: ReadonlySet<string>;
  readonly #policy: RetryPolicy;
  readonly #budget: RetryBudget;
  readonly #timeouts: TransportTimeouts;
  readonly #queues = new Map<string, PQueue>();
  readonly #concurrency: number;
  readonly auth: Authenticator;

  constructor(opts: TransportOptions = {}) {
    this.#timeouts = { connectMs: 15_000, headersMs: 60_000, bodyMs: 60_000, ...opts.timeouts };
    this.#concurrency = Math.max(1, opts.concurrencyPerHost ?? envConcurrency() ?? DEFAULT_CONCURRENCY);
    this.#injected = opts.dispatcher;
    this.#insecure = new Set(opts.insecureRegistries ?? []);
    this.#policy = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
    this.#budget = new RetryBudget(this.#policy.budget);
    this.auth = new Authenticator(opts.credentials ?? { get: async () => undefined }, (url, init) => this.#fetchText(url, init));
  }

  /** The retry policy in force. */
  get policy(): RetryPolicy {
    return this.#policy;
  }

  /** Take one retry from the shared budget (for callers that retry by themselves, e.g. resumed downloads). */
  takeRetry(): boolean {
    return this.#budget.take();
  }

  /** `https://host` or `http://host`; Docker Hub's API lives at registry-1.docker.io. */
  baseUrl(registry: string): string {
    const host = registry === "docker.io" ? "registry-1.docker.io" : registry;
    const insecure = isLoopbackHost(registry) || this.#insecure.has(registry) || this.#insecure.has(registry.replace(/:\d+$/, ""));
    return `${insecure ? "http" : "https"}://${host}`;
  }

  /** Run `fn` in the registry's queue; higher `priority` first (manifests use 1, blobs 0). */
  schedule<T>(registry: string, priority: number, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let q = this.#queues.get(registry);
    if (!q) {
      q = new PQueue({ concurrency: this.#concurrency });
      this.#queues.set(registry, q);
    }
    // The signal is checked when the task starts, not handed to p-queue: p-queue would reject a running task's
    // promise at once while the task goes on, and callers must be able to wait until every task has settled.
    return q.add(
      async () => {
        signal?.throwIfAborted();
        return fn();
      },
      { priority },
    ) as Promise<T>;
  }

  /** undici's `request` and the dispatcher (created on first use). */
  #http(): Promise<{ readonly request: HttpClient["request"]; readonly dispatcher: Dispatcher }> {
    this.#agent ??= loadHttpClient().then(({ Agent, redirect, request }) => {
      const base = this.#injected ?? (this.#ownAgent = new Agent({
        // Room for every queued transfer plus manifest and token requests.
        connections: Math.max(8, this.#concurrency + 2),
        keepAliveTimeout: 10_000,
        connect: { timeout: this.#timeouts.connectMs },
        headersTimeout: this.#timeouts.headersMs,
        bodyTimeout: this.#timeouts.bodyMs,
      }));
      // undici's redirect handler drops Authorization when a redirect leaves the origin.
      return { request, dispatcher: base.compose(redirect({ maxRedirections: 5 })) };
    });
    return this.#agent;
  }

  /** Send a request with authentication and retries. */
  async send(req: RegistryRequest): Promise<RegistryResponse> {
    const url = /^https?:\/\//.test(req.path) ? req.path : `${this.baseUrl(req.registry)}${req.path}`;
    let authorization = await this.auth.authorize(req.registry, req.scopes);
    let authTried = false;
    let attempt = 0;
    const { request, dispatcher } = await this.#http();
    for (;;) {
      attempt++;
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, {
          method: req.method,
          dispatcher,
          headers: { ...req.headers, ...(authorization ? { authorization } : {}) },
          body: req.body?.() as never,
          signal: req.signal,
          headersTimeout: this.#timeouts.headersMs,
          bodyTimeout: this.#timeouts.bodyMs,
        });
      } catch (err) {
        if (req.signal?.aborted) throw err;
        if (req.retry !== false && isRetryableError(err) && (await this.#backoff(attempt, undefined, req.signal))) continue;
        throw errorFromNetwork(err, req.ctx);
      }
      if (res.statusCode === 401 && !authTried) {
        await res.body.dump();
        authTried = true;
        const next = await this.auth.challenge(req.registry, header(res.headers, "www-authenticate"), req.scopes, authorization);
        if (next !== undefined) {
          authorization = next;
          attempt--;
          continue;
        }
        return this.#fail(401, "", req);
      }
      if (req.accept.includes(res.statusCode)) return { status: res.statusCode, headers: res.headers, body: res.body, url };
      if (req.retry !== false && isRetryableStatus(res.statusCode)) {
        const retryAfter = parseRetryAfter(header(res.headers, "retry-after"));
        await res.body.dump().catch(() => {});
        if (await this.#backoff(attempt, retryAfter, req.signal)) continue;
        return this.#fail(res.statusCode, "", req);
      }
      const text = req.method === "HEAD" ? "" : await res.body.text().catch(() => "");
      return this.#fail(res.statusCode, text, req);
    }
  }

  #fail(status: number, text: string, req: RegistryRequest): never {
    throw errorFromResponse(status, this.auth.redact(text), req.ctx);
  }

  /** Wait before retry `attempt`+1 if the per-request limit and the shared budget allow; false when they don't. */
  async #backoff(attempt: number, retryAfterMs: number | undefined, signal: AbortSignal | undefined): Promise<boolean> {
    if (attempt >= this.#policy.maxAttempts || !this.#budget.take()) return false;
    await delay(backoffDelay(this.#policy, attempt, retryAfterMs), signal);
    return true;
  }

  /** Plain fetch for token servers (no auth challenge handling; retries on connection errors and 5xx). */
  async #fetchText(url: string, init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string }): Promise<{ status: number; text: string }> {
    const registry = new URL(url).host;
    const { request, dispatcher } = await this.#http();
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await request(url, { method: init.method, headers: init.headers, body: init.body, dispatcher });
        if (isRetryableStatus(res.statusCode) && (await this.#backoff(attempt, parseRetryAfter(header(res.headers, "retry-after")), undefined))) {
          await res.body.dump();
          continue;
        }
        return { status: res.statusCode, text: await res.body.text() };
      } catch (err) {
        if (isRetryableError(err) && (await this.#backoff(attempt, undefined, undefined))) continue;
        throw errorFromNetwork(err, { registry, action: `getting a token from ${registry}` });
      }
    }
  }

  /** Close keep-alive connections (otherwise the process lingers ~0.4 s after a command). Idempotent. */
  async close(): Promise<void> {
    for (const q of this.#queues.values()) q.clear();
    await this.#agent?.catch(() => undefined);
    const a = this.#ownAgent;
    if (a && !a.closed && !a.destroyed) await a.destroy();
  }
}
