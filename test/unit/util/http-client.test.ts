import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { httpClientSource, loadHttpClient } from "../../../src/util/http-client.js";

let server: Server;
let base: string;
const seen: Array<{ method: string; url: string; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", body });
      if (req.url === "/moved") {
        res.writeHead(307, { location: "/here?x=1" }).end();
        return;
      }
      res.writeHead(200, { "content-type": "text/plain" }).end(`at ${req.url}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe("loadHttpClient", () => {
  it("loads undici's Agent, redirect interceptor and request() without the whole package", async () => {
    const { Agent, redirect, request } = await loadHttpClient();
    expect(httpClientSource()).toBe("lite");
    const agent = new Agent();
    try {
      const dispatcher = agent.compose(redirect({ maxRedirections: 2 }));
      const res = await request(`${base}/moved`, { dispatcher });
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe("at /here?x=1");
      const put = await request(`${base}/up?y=2`, { dispatcher, body: "data" });
      await put.body.text();
      expect(seen.at(-1)).toEqual({ method: "PUT", url: "/up?y=2", body: "data" }); // a body without a method is a PUT, as in undici
      const head = await request(new URL(`${base}/h`), { dispatcher, method: "HEAD" });
      await head.body.text();
      expect(seen.at(-1)).toMatchObject({ method: "HEAD", url: "/h" });
    } finally {
      await agent.close();
    }
  });
});
