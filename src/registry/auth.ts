/**
 * Registry authentication: parses `WWW-Authenticate` challenges, answers Basic with the stored credentials and
 * Bearer with a token from the realm (anonymous or with Basic credentials; OAuth refresh for identity tokens),
 * and caches tokens per registry and scope set until they expire. Secrets stay in this module's memory; every
 * secret it learns is registered so error messages can be redacted.
 */
import type { Credentials, CredentialSource } from "./credentials.js";
import { RegistryError, errorFromResponse, redact } from "./errors.js";

/** One parsed challenge: `Bearer realm="…",service="…",scope="…"`. */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parse a `WWW-Authenticate` header value into challenges (scheme lowercased, quoted-string params). */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: { scheme: string; params: Record<string, string> }[] = [];
  // Either `name=value` / `name="quoted"` (a parameter of the current challenge) or a bare token (a new scheme).
  const re = /[\s,]*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?:\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*)))?/g;
  for (const m of header.matchAll(re)) {
    const name = m[1]!;
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3];
    if (value === undefined) out.push({ scheme: name.toLowerCase(), params: {} });
    else if (out.length > 0) out[out.length - 1]!.params[name.toLowerCase()] = value;
  }
  return out;
}

/** `repository:NAME:ACTIONS` scopes as a map NAME → actions, so scope sets can be merged and compared. */
function scopeKey(scopes: readonly string[]): string {
  return [...new Set(scopes)].sort().join(" ");
}

function covers(have: readonly string[], want: readonly string[]): boolean {
  const actions = new Map<string, Set<string>>();
  for (const s of have) {
    const i = s.lastIndexOf(":");
    const set = actions.get(s.slice(0, i)) ?? new Set<string>();
    for (const a of s.slice(i + 1).split(",")) set.add(a);
    actions.set(s.slice(0, i), set);
  }
  return want.every((s) => {
    const i = s.lastIndexOf(":");
    const set = actions.get(s.slice(0, i));
    return set !== undefined && s.slice(i + 1).split(",").every((a) => set.has(a) || set.has("*"));
  });
}

interface CachedToken {
  readonly scopes: readonly string[];
  readonly token: string;
  readonly expiresAt: number;
}

/** What the authenticator needs to fetch tokens: a plain HTTP GET/POST that returns status + body text. */
export type TokenFetcher = (
  url: string,
  init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string },
) => Promise<{ status: number; text: string }>;

/** Per-client authentication state. */
export class Authenticator {
  readonly #credentials: CredentialSource;
  readonly #fetch: TokenFetcher;
  /** Last challenge per registry; lets later requests authorize up front instead of taking a 401 first. */
  readonly #challenges = new Map<string, Challenge>();
  readonly #tokens = new Map<string, CachedToken[]>();
  /** Token fetches in progress by `registry|scopes`, so concurrent 401s share one. */
  readonly #inflight = new Map<string, Promise<string>>();
  readonly #creds = new Map<string, Promise<Credentials | undefined>>();
  readonly #secrets = new Set<string>();
  readonly #now: () => number;

  constructor(credentials: CredentialSource, fetch: TokenFetcher, now: () => number = Date.now) {
    this.#credentials = credentials;
    this.#fetch = fetch;
    this.#now = now;
  }

  /** Every secret this authenticator has seen (passwords, tokens), for `redact()`. */
  get secrets(): Iterable<string> {
    return this.#secrets;
  }

  /** Redact known secrets from a string. */
  redact(text: string): string {
    return redact(text, this.#secrets);
  }

  async #credentialsFor(registry: string): Promise<Credentials | undefined> {
    let p = this.#creds.get(registry);
    if (!p) {
      p = this.#credentials.get(registry).then((c) => {
        if (c) for (const s of [c.password, c.identityToken, `${c.username}:${c.password}`]) if (s) this.#secrets.add(s);
        if (c?.password) this.#secrets.add(Buffer.from(`${c.username}:${c.password}`).toString("base64"));
        return c;
      });
      this.#creds.set(registry, p);
    }
    return p;
  }

  /** The Authorization header for a request needing `scopes`, from cache or a known challenge; undefined if none. */
  async authorize(registry: string, scopes: readonly string[]): Promise<string | undefined> {
    const ch = this.#challenges.get(registry);
    if (!ch) return undefined;
    if (ch.scheme === "basic") return this.#basic(registry);
    if (ch.scheme === "bearer") {
      const cached = this.#cachedToken(registry, scopes);
      if (cached) return `Bearer ${cached}`;
      return `Bearer ${await this.#fetchToken(registry, ch, scopes)}`;
    }
    return undefined;
  }

  /**
   * Handle a 401 answer: remember the challenge and return the header to retry with, or undefined when there is
   * nothing new to try (so the caller reports UNAUTHORIZED).
   */
  async challenge(registry: string, header: string | undefined, scopes: readonly string[], sent: string | undefined): Promise<string | undefined> {
    const challenges = parseWwwAuthenticate(header ?? "");
    const ch = challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic");
    if (!ch) return undefined;
    this.#challenges.set(registry, ch);
    if (ch.scheme === "basic") {
      const h = await this.#basic(registry);
      return h !== undefined && h !== sent ? h : undefined;
    }
    // The registry may ask for more than we requested (e.g. a mount source): merge its scope in.
    const wanted = [...scopes];
    if (ch.params.scope) for (const s of ch.params.scope.split(" ")) if (s && !wanted.includes(s)) wanted.push(s);
    // If the token we sent was refused, forget it; otherwise (none sent, or an older one) a cached or in-flight
    // token is fine: concurrent requests that all got a 401 share one token fetch.
    if (sent?.startsWith("Bearer ")) {
      const refused = sent.slice(7);
      this.#tokens.set(registry, (this.#tokens.get(registry) ?? []).filter((t) => t.token !== refused));
    }
    const token = await this.#fetchToken(registry, ch, wanted);
    const h = `Bearer ${token}`;
    return h !== sent ? h : undefined;
  }

  #cachedToken(registry: string, scopes: readonly string[]): string | undefined {
    const list = this.#tokens.get(registry) ?? [];
    const now = this.#now();
    const hit = list.find((t) => t.expiresAt > now && covers(t.scopes, scopes));
    return hit?.token;
  }

  async #basic(registry: string): Promise<string | undefined> {
    const c = await this.#credentialsFor(registry);
    if (!c || c.password === undefined) return undefined;
    return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
  }

  async #fetchToken(registry: string, ch: Challenge, scopes: readonly string[]): Promise<string> {
    const cached = this.#cachedToken(registry, scopes);
    if (cached) return cached;
    const key = `${registry}|${scopeKey(scopes)}`;
    let p = this.#inflight.get(key);
    if (!p) {
      p = this.#requestToken(registry, ch, scopes).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, p);
    }
    return p;
  }

  async #requestToken(registry: string, ch: Challenge, scopes: readonly string[]): Promise<string> {
    const realm = ch.params.realm;
    const ctx = { registry, action: `authenticating to ${registry}` };
    if (!realm) throw new RegistryError("PROTOCOL", `${ctx.action}: the Bearer challenge has no realm`, { registry, hint: "the registry's auth configuration is broken; contact its operator" });
    const creds = await this.#credentialsFor(registry);
    const url = new URL(realm);
    let res: { status: number; text: string };
    if (creds?.identityToken) {
      // OAuth2 refresh-token grant, as `docker login` identity tokens require.
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: creds.identityToken, client_id: "tsbuild" });
      if (ch.params.service) form.set("service", ch.params.service);
      if (scopes.length) form.set("scope", scopes.join(" "));
      res = await this.#fetch(url.toString(), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() });
    } else {
      if (ch.params.service) url.searchParams.set("service", ch.params.service);
      for (const s of scopes) url.searchParams.append("scope", s);
      const headers: Record<string, string> = {};
      if (creds?.password !== undefined) headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
      res = await this.#fetch(url.toString(), { method: "GET", headers });
    }
    if (res.status !== 200) {
      throw errorFromResponse(res.status === 401 ? 401 : res.status, this.redact(res.text), { ...ctx, action: `getting a token from ${url.origin}${url.pathname} for ${registry}` });
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      body = JSON.parse(res.text) as typeof body;
    } catch {
      throw new RegistryError("PROTOCOL", `${ctx.action}: the token server at ${url.origin} answered with invalid JSON`, { registry, hint: "the registry's token server is broken; retry later" });
    }
    const token = typeof body.token === "string" ? body.token : typeof body.access_token === "string" ? body.access_token : undefined;
    if (!token) throw new RegistryError("PROTOCOL", `${ctx.action}: the token server at ${url.origin} returned no token`, { registry, hint: "the registry's token server is broken; retry later" });
    this.#secrets.add(token);
    const lifetime = (typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60) * 1000;
    // Refresh a little early so a token never expires between our check and the registry's.
    const expiresAt = this.#now() + Math.max(1000, lifetime - Math.min(10_000, lifetime / 10));
    const list = (this.#tokens.get(registry) ?? []).filter((t) => t.expiresAt > this.#now() && scopeKey(t.scopes) !== scopeKey(scopes));
    list.push({ scopes: [...scopes], token, expiresAt });
    this.#tokens.set(registry, list);
    return token;
  }
}
