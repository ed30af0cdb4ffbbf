import { describe, it, expect } from "@jest/globals";
import { Authenticator, parseWwwAuthenticate, type TokenFetcher } from "../../../src/registry/auth.js";
import { StaticCredentials } from "../../../src/registry/credentials.js";

describe("parseWwwAuthenticate", () => {
  it.each([
    ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
      [{ scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:samalba/my-app:pull,push" } }]],
    ['Basic realm="Registry Realm"', [{ scheme: "basic", params: { realm: "Registry Realm" } }]],
    ['Basic realm="a", Bearer realm="b",service=s', [{ scheme: "basic", params: { realm: "a" } }, { scheme: "bearer", params: { realm: "b", service: "s" } }]],
    ['Bearer realm="x\\"y"', [{ scheme: "bearer", params: { realm: 'x"y' } }]],
    ["", []],
  ] as const)("%s", (header, expected) => {
    expect(parseWwwAuthenticate(header)).toEqual(expected);
  });
});

function fakeTokens(): { fetch: TokenFetcher; calls: { url: URL; auth: string | undefined }[] } {
  const calls: { url: URL; auth: string | undefined }[] = [];
  let n = 0;
  return {
    calls,
    fetch: async (url, init) => {
      calls.push({ url: new URL(url), auth: init.headers.authorization });
      return { status: 200, text: JSON.stringify({ token: `tok-${++n}-abcdef`, expires_in: 60 }) };
    },
  };
}
const CH = 'Bearer realm="http://auth.test/token",service="svc"';

describe("Authenticator", () => {
  it("fetches a token with scopes and Basic credentials, then reuses it until it expires", async () => {
    let now = 1_000_000;
    const t = fakeTokens();
    const a = new Authenticator(new StaticCredentials(new Map([["r.test", { username: "u", password: "pw-secret" }]])), t.fetch, () => now);
    expect(await a.authorize("r.test", ["repository:a:pull"])).toBeUndefined();
    const h = await a.challenge("r.test", CH, ["repository:a:pull,push"], undefined);
    expect(h).toBe("Bearer tok-1-abcdef");
    expect(t.calls[0]!.url.searchParams.get("service")).toBe("svc");
    expect(t.calls[0]!.url.searchParams.getAll("scope")).toEqual(["repository:a:pull,push"]);
    expect(t.calls[0]!.auth).toBe(`Basic ${Buffer.from("u:pw-secret").toString("base64")}`);
    // pull is covered by pull,push: no new fetch
    expect(await a.authorize("r.test", ["repository:a:pull"])).toBe("Bearer tok-1-abcdef");
    expect(t.calls).toHaveLength(1);
    // another repository needs another token
    expect(await a.authorize("r.test", ["repository:b:pull"])).toBe("Bearer tok-2-abcdef");
    now += 61_000;
    expect(await a.authorize("r.test", ["repository:a:pull"])).toBe("Bearer tok-3-abcdef");
    expect(a.redact("x tok-3-abcdef pw-secret")).toBe("x *** ***");
  });

  it("shares one fetch between concurrent challenges and drops a refused token", async () => {
    const t = fakeTokens();
    const a = new Authenticator(new StaticCredentials(new Map()), t.fetch);
    const hs = await Promise.all([1, 2, 3].map(() => a.challenge("r.test", CH, ["repository:a:pull"], undefined)));
    expect(new Set(hs)).toEqual(new Set(["Bearer tok-1-abcdef"]));
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0]!.auth).toBeUndefined();
    expect(await a.challenge("r.test", CH, ["repository:a:pull"], "Bearer tok-1-abcdef")).toBe("Bearer tok-2-abcdef");
  });

  it("answers Basic challenges with credentials, and gives up when they were already sent", async () => {
    const a = new Authenticator(new StaticCredentials(new Map([["r.test", { username: "u", password: "p" }]])), fakeTokens().fetch);
    const basic = `Basic ${Buffer.from("u:p").toString("base64")}`;
    expect(await a.challenge("r.test", 'Basic realm="x"', [], undefined)).toBe(basic);
    expect(await a.challenge("r.test", 'Basic realm="x"', [], basic)).toBeUndefined();
    expect(await a.authorize("r.test", [])).toBe(basic);
  });

  it("maps a token server refusal to UNAUTHORIZED without the password", async () => {
    const a = new Authenticator(new StaticCredentials(new Map([["r.test", { username: "u", password: "hunter2-secret" }]])), async () => ({
      status: 401, text: '{"errors":[{"code":"UNAUTHORIZED","message":"bad password hunter2-secret"}]}',
    }));
    const err = await a.challenge("r.test", CH, ["repository:a:pull"], undefined).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "TSB_REGISTRY_UNAUTHORIZED", status: 401 });
    expect((err as Error).message).not.toContain("hunter2-secret");
  });
});
