import { describe, it, expect } from "@jest/globals";
import {
  buildGraph,
  createVertex,
  graphFromJson,
  graphToDot,
  graphToJson,
  graphToMermaid,
  graphToText,
  type Edge,
  type ExecOp,
  type Op,
} from "../../../src/graph/index.js";

const platform = { os: "linux", architecture: "amd64" };
const image = (ref = "docker.io/library/busybox:latest"): Edge => ({
  vertex: createVertex({ kind: "source", source: { type: "image", ref, platform } }, [], { name: `FROM ${ref}` }),
  output: 0,
});
const execOp = (args: string[], extra: Partial<ExecOp> = {}): ExecOp => ({
  kind: "exec",
  meta: { args, env: ["PATH=/bin"], cwd: "/", user: "" },
  network: "default",
  security: "sandbox",
  mounts: [{ type: "bind", dest: "/", input: 0, readonly: false, output: 0 }],
  ...extra,
});
const run = (base: Edge, args: string[], extra: Partial<ExecOp> = {}, name = "RUN"): Edge => ({
  vertex: createVertex(execOp(args, extra), [base], { name }),
  output: 0,
});

describe("vertex digests", () => {
  it("are stable for identical definitions and ignore names, source ranges and proxy env", () => {
    const a = run(image(), ["sh", "-c", "make"], {}, "[1/2] RUN make");
    const b = run(image(), ["sh", "-c", "make"], { proxyEnv: { HTTP_PROXY: "http://proxy:3128" } }, "other name");
    expect(a.vertex.digest).toBe(b.vertex.digest);
    expect(a.vertex.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("change with the op, the env, and any input", () => {
    const base = run(image(), ["sh", "-c", "make"]);
    expect(run(image(), ["sh", "-c", "make all"]).vertex.digest).not.toBe(base.vertex.digest);
    const env = createVertex({ ...execOp(["sh", "-c", "make"]), meta: { args: ["sh", "-c", "make"], env: ["A=1"], cwd: "/", user: "" } }, [image()], { name: "" });
    expect(env.digest).not.toBe(base.vertex.digest);
    expect(run(image("docker.io/library/alpine:latest"), ["sh", "-c", "make"]).vertex.digest).not.toBe(base.vertex.digest);
  });

  it("are independent of object key order", () => {
    const op1: Op = { kind: "file", base: null, actions: [{ action: "mkdir", path: "/a", mode: 0o755, makeParents: true }] };
    const op2 = { actions: [{ makeParents: true, mode: 0o755, path: "/a", action: "mkdir" }], base: null, kind: "file" } as Op;
    expect(createVertex(op1, [], { name: "" }).digest).toBe(createVertex(op2, [], { name: "" }).digest);
  });

  it("freezes vertices deeply", () => {
    const v = run(image(), ["true"]).vertex;
    expect(Object.isFrozen(v)).toBe(true);
    expect(Object.isFrozen(v.op)).toBe(true);
    expect(Object.isFrozen((v.op as ExecOp).meta.args)).toBe(true);
    expect(() => {
      (v.op as { kind: string }).kind = "x";
    }).toThrow();
  });

  it("rejects out-of-range input references", () => {
    expect(() => createVertex(execOp(["true"]), [], { name: "" })).toThrow(expect.objectContaining({ code: "TSB_GRAPH_BAD_INPUT" }));
    expect(() => createVertex({ kind: "source", source: { type: "local", name: "context" } }, [image()], { name: "" })).toThrow();
  });
});

describe("graphs", () => {
  const src = image();
  const a = run(src, ["sh", "-c", "a"], {}, "[a 2/2] RUN a");
  const b = run(src, ["sh", "-c", "b"], {}, "[b 2/2] RUN b");
  const merged: Edge = { vertex: createVertex({ kind: "merge", inputs: [0, 1] }, [a, b], { name: "merge" }), output: 0 };
  const graph = buildGraph(merged);

  it("lists each vertex once, inputs first", () => {
    expect(graph.vertices.map((v) => v.options.name)).toEqual(["FROM docker.io/library/busybox:latest", "[a 2/2] RUN a", "[b 2/2] RUN b", "merge"]);
  });

  it("round-trips through JSON with digests checked", () => {
    const json = JSON.parse(JSON.stringify(graphToJson(graph)));
    const back = graphFromJson(json);
    expect(back.root?.vertex.digest).toBe(merged.vertex.digest);
    json.vertices[1].op.meta.args = ["tampered"];
    expect(() => graphFromJson(json)).toThrow(expect.objectContaining({ code: "TSB_GRAPH_DIGEST_MISMATCH" }));
  });

  it("prints DOT, mermaid and a text tree", () => {
    const dot = graphToDot(graph);
    expect(dot).toMatch(/^digraph tsbuild \{/);
    expect(dot.match(/->/g)).toHaveLength(4);
    const mm = graphToMermaid(graph);
    expect(mm.split("\n")[0]).toBe("flowchart BT");
    expect(mm.match(/-->/g)).toHaveLength(4);
    const text = graphToText(graph);
    expect(text.split("\n")[0]).toMatch(/^[0-9a-f]{12} merge  merge$/);
    expect(text).toContain("├─ ");
    expect(text).toContain("(^ above)");
  });

  it("handles 10,000-deep chains without recursion", () => {
    let e = image();
    for (let i = 0; i < 10000; i++) e = run(e, ["sh", "-c", `echo ${i}`]);
    const g = buildGraph(e);
    expect(g.vertices).toHaveLength(10001);
    expect(graphToText(g).split("\n")).toHaveLength(10002);
  });
});
