import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVertex, type ExecOp, type Vertex } from "../../../src/graph/index.js";
import { LocalCacheStore, RefManager } from "../../../src/cache/index.js";
import { rootLayout } from "../../../src/store/index.js";
import type { Snapshotter } from "../../../src/snapshot/index.js";
import type { ContentStore } from "../../../src/store/index.js";
import { sha256 } from "../../../src/util/digest.js";
import { noProgress } from "../../../src/progress/events.js";
import { createOpCacheStore, createOpResolver, execEnv, execOpDigest, toSolverGraph, type OpDeps } from "../../../src/ops/index.js";

const src = (name: string): Vertex => createVertex({ kind: "source", source: { type: "local", name } }, [], { name });

function exec(inputs: readonly Vertex[], extra: Partial<ExecOp> = {}): Vertex {
  const op: ExecOp = {
    kind: "exec",
    meta: { args: ["/bin/sh", "-c", "true"], env: ["A=1"], cwd: "/", user: "" },
    network: "default",
    security: "sandbox",
    mounts: [{ type: "bind", dest: "/", input: 0, readonly: false, output: 0 }],
    ...extra,
  };
  return createVertex(op, inputs.map((vertex) => ({ vertex, output: 0 })), { name: "RUN true", ignoreCache: true });
}

describe("toSolverGraph", () => {
  it("carries the graph vertex and its options, and shares common inputs", () => {
    const base = src("context");
    const a = exec([base]);
    const b = exec([a, base], { mounts: [{ type: "bind", dest: "/", input: 0, readonly: false, output: 0 }, { type: "bind", dest: "/c", input: 1, readonly: true }] });
    const sv = toSolverGraph({ vertex: b, output: 0 });
    expect(sv.vertex).toBe(b);
    expect(sv.digest).toBe(b.digest);
    expect(sv.name).toBe("RUN true");
    expect(sv.ignoreCache).toBe(true);
    expect(sv.inputs[0]!.inputs[0]).toBe(sv.inputs[1]);
  });

  it("rejects outputs other than 0", () => {
    const v = createVertex({ kind: "merge", inputs: [0] }, [{ vertex: src("x"), output: 1 }], { name: "m" });
    expect(() => toSolverGraph({ vertex: v, output: 0 })).toThrow(expect.objectContaining({ code: "TSB_OPS_BAD_GRAPH" }) as unknown as Error);
    expect(() => toSolverGraph({ vertex: src("y"), output: 2 })).toThrow(/only output 0/);
  });
});

describe("exec op keys and environment", () => {
  const secret = { type: "secret", dest: "/run/secrets/t", secret: { id: "t", required: true, mode: 0o400, uid: 0, gid: 0 } } as const;
  it("leaves proxy variables out of the digest but passes them (both cases), and adds PATH", () => {
    const op = exec([src("c")], { proxyEnv: { HTTP_PROXY: "http://proxy:3128" } }).op as ExecOp;
    const plain = exec([src("c")]).op as ExecOp;
    expect(execOpDigest(op)).toBe(execOpDigest(plain));
    expect(execEnv(op)).toEqual(["A=1", "HTTP_PROXY=http://proxy:3128", "http_proxy=http://proxy:3128", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
    expect(execEnv({ ...plain, meta: { ...plain.meta, env: ["PATH=/x"] } }, ["TOK=v"])).toEqual(["PATH=/x", "TOK=v"]);
    // a proxy build arg wins over an ENV of the same name, in place (containerd's WithEnv)
    expect(execEnv({ ...op, meta: { ...op.meta, env: ["http_proxy=http://env:1", "B=2"] } })).toEqual(["http_proxy=http://proxy:3128", "B=2", "HTTP_PROXY=http://proxy:3128", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
  });

  it("keys secret mounts by id and target only", async () => {
    const withSecret = exec([src("c")], { mounts: [{ type: "bind", dest: "/", input: 0, readonly: false, output: 0 }, secret] });
    const resolver = createOpResolver({ secrets: new Map([["t", { id: "t", read: async () => Buffer.from("VALUE-1") }]]) } as unknown as OpDeps);
    const sv = toSolverGraph({ vertex: withSecret, output: 0 });
    const cm = await resolver.resolve(sv).cacheMap({ signal: new AbortController().signal, progress: noProgress, vertex: { digest: sv.digest, name: sv.name } });
    expect(cm.opDigest).toBe(execOpDigest(withSecret.op as ExecOp));
    expect(JSON.stringify(cm)).not.toContain("VALUE-1");
    expect(resolver.resolve(sv).heavy).toBe(true);
  });
});

describe("op cache store", () => {
  it("stores filesystem results only", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tsb-opcache-"));
    try {
      const layout = rootLayout(dir);
      const refs = new RefManager({ snapshotter: { stat: async () => ({ kind: "committed" }) } as unknown as Snapshotter, store: { has: async () => true } as unknown as ContentStore, layout });
      const cache = createOpCacheStore(new LocalCacheStore(layout, refs));
      const key = sha256("k");
      const record = { key, opDigest: sha256("op"), deps: [] };
      await cache.save(key, { kind: "http", path: "/x", filename: "x", digest: sha256("x") }, record);
      expect(await cache.load(key, new AbortController().signal)).toBeUndefined();
      const ref = { layers: [{ snapshot: "s", diffId: sha256("d"), blob: { digest: sha256("b"), size: 1, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" } }] };
      await cache.save(key, { kind: "fs", ref }, record);
      expect(await cache.load(key, new AbortController().signal)).toEqual({ kind: "fs", ref });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("http source", () => {
  let server: Server;
  let base = "";
  let body = "version 1\n";
  let lastModified = "Wed, 01 Jan 2020 00:00:00 GMT";
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tsb-http-"));
    server = createServer((req, res) => {
      if (req.url === "/redirect") return void res.writeHead(302, { location: "/files/tool.sh" }).end();
      if (req.url === "/files/tool.sh") return void res.writeHead(200, { "last-modified": lastModified }).end(body);
      if (req.url === "/no-date") return void res.writeHead(200).end("undated\n");
      if (req.url === "/bad-date") return void res.writeHead(200, { "last-modified": "not a date" }).end("bad\n");
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const ctx = { signal: new AbortController().signal, progress: noProgress, vertex: { digest: "d", name: "n" } };
  const deps = (): OpDeps => ({ layout: rootLayout(dir) }) as unknown as OpDeps;
  const httpVertex = (url: string, checksum?: string): Vertex =>
    createVertex({ kind: "source", source: { type: "http", url, ...(checksum ? { checksum } : {}) } }, [], { name: url });

  it("downloads once per build, follows redirects, keys by content, and verifies --checksum", async () => {
    const v = httpVertex(`${base}/redirect`);
    const sv = toSolverGraph({ vertex: v, output: 0 });
    const op = createOpResolver(deps()).resolve(sv);
    const cm1 = await op.cacheMap(ctx);
    const res = await op.exec([], ctx);
    expect(res.kind).toBe("http");
    if (res.kind !== "http") return;
    // BuildKit names the file after the URL as written, not the redirect target.
    expect(res.filename).toBe("redirect");
    expect(await readFile(res.path, "utf8")).toBe("version 1\n");
    expect(res.digest).toBe(`sha256:${createHash("sha256").update("version 1\n").digest("hex")}`);

    // Another build: same content → same key; changed content → another key.
    expect((await createOpResolver(deps()).resolve(sv).cacheMap(ctx)).opDigest).toBe(cm1.opDigest);
    body = "version 2\n";
    const cm2 = await createOpResolver(deps()).resolve(sv).cacheMap(ctx);
    expect(cm2.opDigest).not.toBe(cm1.opDigest);
    // the same bytes with another Last-Modified: another mtime in the layer, so another key (BuildKit's LastModTime)
    lastModified = "Thu, 02 Jan 2020 00:00:00 GMT";
    expect((await createOpResolver(deps()).resolve(sv).cacheMap(ctx)).opDigest).not.toBe(cm2.opDigest);
    lastModified = "Wed, 01 Jan 2020 00:00:00 GMT";

    const bad = toSolverGraph({ vertex: httpVertex(`${base}/files/tool.sh`, sha256("other")), output: 0 });
    await expect(createOpResolver(deps()).resolve(bad).cacheMap(ctx)).rejects.toMatchObject({ code: "TSB_OPS_HTTP_CHECKSUM" });
    expect((await stat(res.path)).mtimeMs).toBe(Date.UTC(2020, 0, 1));
    const missing = toSolverGraph({ vertex: httpVertex(`${base}/missing`), output: 0 });
    await expect(createOpResolver(deps()).resolve(missing).cacheMap(ctx)).rejects.toMatchObject({ code: "TSB_OPS_HTTP_FAILED", message: expect.stringContaining("HTTP 404") });
  });

  it("gives the file mode 0600 and Last-Modified's mtime, the Unix epoch without a usable one (BuildKit)", async () => {
    for (const path of ["/no-date", "/bad-date"]) {
      const res = await createOpResolver(deps()).resolve(toSolverGraph({ vertex: httpVertex(`${base}${path}`), output: 0 })).exec([], ctx);
      if (res.kind !== "http") throw new Error(`expected an http result, got ${res.kind}`);
      const st = await stat(res.path);
      expect([st.mtimeMs, st.mode & 0o777]).toEqual([0, 0o600]);
    }
  });
});
