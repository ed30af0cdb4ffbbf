import { describe, it, expect } from "@jest/globals";
import { MockAgent } from "undici";
import { DEFAULT_CONCURRENCY, Transport, isLoopbackHost } from "../../../src/registry/transport.js";

const ctx = { registry: "reg.test", action: "testing reg.test" };

describe("transport", () => {
  it.each([["localhost", true], ["localhost:5000", true], ["127.0.0.1:5000", true], ["127.9.8.7", true], ["[::1]:5000", true],
    ["128.0.0.1", false], ["reg.test", false], ["localhost.example.com", false]] as const)("loopback %s: %s", (h, ok) => {
    expect(isLoopbackHost(h)).toBe(ok);
  });
  it("uses HTTPS unless loopback or listed insecure; Docker Hub via registry-1", () => {
    const t = new Transport({ insecureRegistries: ["my.lan:5000", "other.lan"] });
    expect(t.baseUrl("ghcr.io")).toBe("https://ghcr.io");
    expect(t.baseUrl("docker.io")).toBe("https://registry-1.docker.io");
    expect(t.baseUrl("localhost:5000")).toBe("http://localhost:5000");
    expect(t.baseUrl("my.lan:5000")).toBe("http://my.lan:5000");
    expect(t.baseUrl("other.lan:443")).toBe("http://other.lan:443");
    expect(t.baseUrl("my.lan:6000")).toBe("https://my.lan:6000");
  });

  it.each([
    [undefined, undefined, DEFAULT_CONCURRENCY], ["2", undefined, 2], ["2", 3, 3], ["zero", undefined, DEFAULT_CONCURRENCY], ["0", undefined, DEFAULT_CONCURRENCY],
  ] as const)("per-host concurrency: env %s, option %s -> %d in flight", async (env, opt, want) => {
    const saved = process.env.TSBUILD_REGISTRY_CONCURRENCY;
    if (env === undefined) delete process.env.TSBUILD_REGISTRY_CONCURRENCY;
    else process.env.TSBUILD_REGISTRY_CONCURRENCY = env;
    try {
      const t = new Transport(opt === undefined ? {} : { concurrencyPerHost: opt });
      let running = 0;
      let peak = 0;
      const task = async (): Promise<void> => {
        peak = Math.max(peak, ++running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      };
      await Promise.all(Array.from({ length: 12 }, () => t.schedule("reg.test", 0, task)));
      expect(peak).toBe(want);
      await t.close();
    } finally {
      if (saved === undefined) delete process.env.TSBUILD_REGISTRY_CONCURRENCY;
      else process.env.TSBUILD_REGISTRY_CONCURRENCY = saved;
    }
  });

  it("retries 503 then succeeds, and stops once the budget is spent", async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const pool = agent.get("https://reg.test");
    pool.intercept({ path: "/v2/", method: "GET" }).reply(503, "busy").times(2);
    pool.intercept({ path: "/v2/", method: "GET" }).reply(200, "{}");
    const t = new Transport({ dispatcher: agent, retry: { baseDelayMs: 1, budget: 3 } });
    const res = await t.send({ registry: "reg.test", method: "GET", path: "/v2/", scopes: [], accept: [200], ctx });
    expect(res.status).toBe(200);
    await res.body.dump();

    pool.intercept({ path: "/v2/", method: "GET" }).reply(500, '{"errors":[{"code":"UNKNOWN","message":"boom"}]}').times(5);
    const err = await t.send({ registry: "reg.test", method: "GET", path: "/v2/", scopes: [], accept: [200], ctx }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "TSB_REGISTRY_SERVER_ERROR", status: 500 });
    await agent.close();
  });

  it("answers a Bearer challenge and retries with the token", async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const pool = agent.get("https://reg.test");
    pool.intercept({ path: "/v2/app/manifests/1", method: "GET" }).reply(401, "", { headers: { "www-authenticate": 'Bearer realm="https://auth.test/token",service="reg"' } });
    agent.get("https://auth.test").intercept({ path: (p) => p.startsWith("/token?"), method: "GET" }).reply(200, { token: "the-token" });
    pool.intercept({ path: "/v2/app/manifests/1", method: "GET", headers: { authorization: "Bearer the-token" } }).reply(200, "ok");
    const t = new Transport({ dispatcher: agent, retry: { baseDelayMs: 1 } });
    const res = await t.send({ registry: "reg.test", method: "GET", path: "/v2/app/manifests/1", scopes: ["repository:app:pull"], accept: [200], ctx });
    expect(await res.body.text()).toBe("ok");
    await agent.close();
  });
});
