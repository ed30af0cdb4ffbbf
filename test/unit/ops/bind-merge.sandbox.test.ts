import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createVertex, type Vertex } from "../../../src/graph/index.js";
import { requireSession } from "../../helpers/session.js";
import { contextVertex, imageVertex, layerEntries, openOpsRoot, runVertex, solveVertex, writeContext, type OpsRoot } from "./harness.js";

let root: OpsRoot;
beforeAll(async () => {
  requireSession();
  root = await openOpsRoot();
});
afterAll(async () => {
  await root?.close();
});

function mergeVertex(inputs: readonly Vertex[]): Vertex {
  return createVertex({ kind: "merge", inputs: inputs.map((_, i) => i) }, inputs.map((vertex) => ({ vertex, output: 0 })), { name: "merge" });
}

describe("bind mounts", () => {
  it("reads the context, discards writes, and keys on the mounted content", async () => {
    await writeContext(root, { "a.txt": "from context\n", "other.txt": "1" });
    const rw = { type: "bind", dest: "/ctx", input: 1, readonly: false } as const;
    const script = "cat /ctx/a.txt > /copied && echo changed > /ctx/a.txt && echo new > /ctx/new && cat /ctx/a.txt";
    const v = runVertex(imageVertex(), script, { inputs: [contextVertex()], mounts: [rw] });
    const r = await solveVertex(root, v);
    expect(r.logs).toBe("changed\n");
    expect(await readFile(join(root.contextDir, "a.txt"), "utf8")).toBe("from context\n");
    expect((await readdir(root.contextDir)).sort()).toEqual(["a.txt", "other.txt"]);
    const names = (await layerEntries(root, r.ref, 1)).names;
    expect(names).toContain("copied");
    // Writes to the mount are discarded; only the mount point it created stays, as in Docker 20.10.
    expect(names.filter((n) => n.startsWith("ctx"))).toEqual(["ctx/"]);

    // Same content: cached. Changed content: runs again.
    expect((await solveVertex(root, v)).vertices.find((o) => o.digest === v.digest)?.cached).toBe(true);
    await writeContext(root, { "a.txt": "edited\n" });
    const again = await solveVertex(root, v);
    expect(again.vertices.find((o) => o.digest === v.digest)?.cached).toBe(false);

    // A selector narrows the key: a change elsewhere in the context keeps the step cached.
    const sub = runVertex(imageVertex(), "cat /one", { inputs: [contextVertex()], mounts: [{ type: "bind", dest: "/one", input: 1, selector: "/a.txt", readonly: true }] });
    expect((await solveVertex(root, sub)).logs).toBe("edited\n");
    await writeContext(root, { "other.txt": "2" });
    expect((await solveVertex(root, sub)).vertices.find((o) => o.digest === sub.digest)?.cached).toBe(true);
  });

  it("mounts another stage read-only with a sub-path, and rejects writes", async () => {
    const stage = runVertex(imageVertex(), "mkdir -p /out && echo built > /out/file");
    const ro = { type: "bind", dest: "/from", input: 1, selector: "/out", readonly: true } as const;
    const reader = runVertex(imageVertex(), "cat /from/file; if (echo x > /from/y) 2>/dev/null; then echo writable; fi", { inputs: [stage], mounts: [ro] });
    expect((await solveVertex(root, reader)).logs).toBe("built\n");
  });
});

describe("merge (COPY --link)", () => {
  it("appends single layers on scratch as they are, and mounts the result correctly", async () => {
    const base = imageVertex();
    // A single layer on scratch: RUN on an empty rootfs cannot run a shell, so build it with a bind of busybox.
    const layer = createVertex(
      {
        kind: "exec",
        meta: { args: ["/bb/bin/busybox", "sh", "-c", "/bb/bin/busybox mkdir -p /app && echo linked > /app/f"], env: ["PATH=/bb/bin"], cwd: "/", user: "" },
        network: "none",
        security: "sandbox",
        mounts: [
          { type: "bind", dest: "/", input: null, readonly: false, output: 0 },
          { type: "bind", dest: "/bb", input: 0, readonly: true },
        ],
      },
      [{ vertex: base, output: 0 }],
      { name: "link layer" },
    );
    const merged = mergeVertex([base, layer]);
    const m = await solveVertex(root, merged);
    const baseRef = (await solveVertex(root, base)).ref;
    const layerRef = (await solveVertex(root, layer)).ref;
    expect(layerRef.layers).toHaveLength(1);
    expect(m.ref.layers).toHaveLength(baseRef.layers.length + 1);
    const exported = await root.refs.exportLayer(layerRef, 0);
    expect(m.ref.layers[m.ref.layers.length - 1]!.blob?.digest).toBe(exported.blob.digest);
    // The appended layer keeps the time its step ran (a cached rebuild exports the same history).
    expect(m.ref.layers[m.ref.layers.length - 1]!.created).toBe(layerRef.layers[0]!.created);
    expect(layerRef.layers[0]!.created).toBeDefined();

    const use = runVertex(merged, "cat /app/f; ls /bin/sh");
    expect((await solveVertex(root, use)).logs).toBe("linked\n/bin/sh\n");
  });

  it("falls back to applying diffs when a later input has several layers", async () => {
    const a = runVertex(imageVertex(), "echo a > /a");
    const b = runVertex(runVertex(imageVertex(), "echo b1 > /b"), "echo b2 >> /b; rm /bin/true");
    const merged = await solveVertex(root, mergeVertex([a, b]));
    expect(merged.ref.layers).toHaveLength(3);
    const use = runVertex(mergeVertex([a, b]), "cat /a /b; test -e /bin/true || echo gone");
    expect((await solveVertex(root, use)).logs).toBe("a\nb1\nb2\ngone\n");
  });
});
