import { describe, it, expect } from "@jest/globals";
import fc from "fast-check";
import { computeDigest, createVertex, type Edge, type ExecOp, type Op } from "../../../src/graph/index.js";
import { deepFreeze, encodeCanonical } from "../../../src/graph/op-json.js";
import { digestableOp } from "../../../src/graph/vertex.js";
import { canonicalJson } from "../../../src/util/canonical-json.js";
import { sha256 } from "../../../src/util/digest.js";

/** JSON-like values with the odd cases canonicalJson defines: undefined members and items, -0, unicode keys. */
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.constant(-0)),
  arr: fc.array(fc.oneof(tie("node"), fc.constant(undefined)), { maxLength: 5 }),
  obj: fc.dictionary(fc.oneof(fc.string(), fc.constantFrom("a", "B", "é", "\u{1F600}", "_", "10", "2")), fc.oneof(tie("node"), fc.constant(undefined)), { maxKeys: 6 }),
  node: fc.oneof({ depthSize: "small" }, tie("leaf"), tie("arr"), tie("obj")),
})).node;

describe("encodeCanonical", () => {
  it("gives the bytes of canonicalJson for any JSON-like value", () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(encodeCanonical(v, false)).toBe(canonicalJson(v));
      }),
      { numRuns: 2000 },
    );
  });

  it("freezes what it walks only when asked, and leaves the skipped member alone", () => {
    const v = { b: [1, { c: 2 }], a: { x: "y" }, skip: { z: 1 } };
    expect(encodeCanonical(v, false)).toBe(canonicalJson(v));
    expect(Object.isFrozen(v)).toBe(false);
    expect(encodeCanonical(v, true, "skip")).toBe('{"a":{"x":"y"},"b":[1,{"c":2}]}');
    expect(Object.isFrozen(v) && Object.isFrozen(v.b) && Object.isFrozen(v.b[1]) && Object.isFrozen(v.a)).toBe(true);
    expect(Object.isFrozen(v.skip)).toBe(false);
  });

  it("rejects what canonicalJson rejects", () => {
    expect(() => encodeCanonical({ a: Number.NaN }, false)).toThrow(TypeError);
    expect(() => encodeCanonical([Infinity], false)).toThrow(TypeError);
    expect(() => encodeCanonical({ f: () => 1 }, false)).toThrow(TypeError);
    expect(() => encodeCanonical(undefined, false)).toThrow(TypeError);
  });

  it("deepFreeze reaches nested arrays and objects", () => {
    const v = deepFreeze({ a: [{ b: [1] }], c: { d: {} } });
    expect(Object.isFrozen(v.a[0]!.b) && Object.isFrozen(v.c.d)).toBe(true);
  });
});

describe("vertex digest input", () => {
  const platform = { os: "linux", architecture: "amd64" };
  const base: Edge = { vertex: createVertex({ kind: "source", source: { type: "image", ref: "docker.io/library/busybox:latest", platform } }, [], { name: "FROM" }), output: 0 };
  const exec = (): ExecOp => ({
    kind: "exec",
    meta: { args: ["/bin/sh", "-c", "echo \"hi\" \u2028"], env: ["PATH=/bin", "A=é"], cwd: "/w", user: "" },
    network: "default",
    security: "sandbox",
    mounts: [
      { type: "bind", dest: "/", input: 0, readonly: false, output: 0 },
      { type: "cache", dest: "/c", input: null, readonly: false, cache: { id: "c", sharing: "locked", uid: 0 } },
    ],
    proxyEnv: { HTTP_PROXY: "http://proxy:3128" },
  });
  const reference = (op: Op, inputs: readonly Edge[]): string =>
    sha256(canonicalJson({ op: digestableOp(op), inputs: inputs.map((e) => [e.vertex.digest, e.output]) }));

  it("is canonicalJson of {op without proxyEnv, inputs}", () => {
    const ops: [Op, Edge[]][] = [
      [exec(), [base]],
      [{ kind: "file", base: 0, actions: [{ action: "mkdir", path: "/a", mode: 0o755, makeParents: true, chown: { user: "app" } }] }, [base]],
      [{ kind: "merge", inputs: [0, 1] }, [base, base]],
      [{ kind: "source", source: { type: "local", name: "context", excludePatterns: ["*.md"] } }, []],
    ];
    for (const [op, inputs] of ops) {
      const want = reference(op, inputs);
      expect(computeDigest(op, inputs)).toBe(want);
      expect(Object.isFrozen(op)).toBe(false);
      const v = createVertex(op, inputs, { name: "x" });
      expect(v.digest).toBe(want);
      expect(Object.isFrozen(op)).toBe(true);
    }
  });

  it("freezes the proxy env although it is not digested", () => {
    const op = exec();
    createVertex(op, [base], { name: "x" });
    expect(Object.isFrozen(op.proxyEnv)).toBe(true);
    expect(Object.isFrozen(op.mounts[1])).toBe(true);
  });
});
