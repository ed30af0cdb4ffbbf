/**
 * A real tsbuild root for op tests: content store, image db with busybox imported, snapshotter, refs, cache
 * records, the namespace sandbox, and helpers to build exec vertices by hand and solve them.
 */
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tar from "tar-stream";
import { createVertex, type ExecMount, type ExecOp, type Vertex } from "../../../src/graph/index.js";
import { hostPlatform } from "../../../src/frontend/index.js";
import { LocalCacheStore, RefManager, type BuildRef } from "../../../src/cache/index.js";
import { openContentStore, rootLayout, type ContentStore, type RootLayout } from "../../../src/store/index.js";
import { createSnapshotter, type Snapshotter } from "../../../src/snapshot/index.js";
import { ImageStore, importRootfs } from "../../../src/image/index.js";
import { createSandbox, currentSession } from "../../../src/executor/index.js";
import { openContext, type BuildContext } from "../../../src/context/index.js";
import { openRegistry, type Registry } from "../../../src/registry/index.js";
import { solve, type SolveResult } from "../../../src/solver/index.js";
import type { ProgressEvent } from "../../../src/progress/events.js";
import { createOpCacheStore, createOpResolver, toSolverGraph, type OpDeps, type OpResult, type SecretSource } from "../../../src/ops/index.js";
import { busyboxRootfsTar } from "../../helpers/base-images.js";

export const BUSYBOX = "docker.io/library/busybox:latest";

export interface OpsRoot {
  readonly dir: string;
  readonly layout: RootLayout;
  readonly store: ContentStore;
  readonly images: ImageStore;
  readonly snap: Snapshotter;
  readonly refs: RefManager;
  readonly records: LocalCacheStore;
  readonly contextDir: string;
  readonly registry: Registry;
  deps(over?: Partial<OpDeps>): OpDeps;
  close(): Promise<void>;
}

export interface OpenOptions {
  readonly secrets?: Readonly<Record<string, string>>;
  /** Import busybox as docker.io/library/busybox:latest. @default true */
  readonly busybox?: boolean;
}

export async function openOpsRoot(opts: OpenOptions = {}): Promise<OpsRoot> {
  const dir = await mkdtemp(join(tmpdir(), "tsb-ops-"));
  const layout = rootLayout(dir);
  const store = await openContentStore(dir);
  const images = new ImageStore(store);
  const snap = await createSnapshotter(layout.snapshots);
  const refs = new RefManager({ snapshotter: snap, store, layout });
  const records = new LocalCacheStore(layout, refs);
  const contextDir = join(dir, "context-src");
  await mkdir(contextDir);
  const registry = openRegistry({ root: dir });
  if (opts.busybox ?? true) {
    const img = await importRootfs(store, createReadStream(await busyboxRootfsTar()));
    await images.putImage("busybox:latest", img.manifest);
  }
  const session = currentSession()!;
  const secrets = new Map<string, SecretSource>(
    Object.entries(opts.secrets ?? {}).map(([id, v]) => [id, { id, read: async () => Buffer.from(v) }]),
  );
  const contexts = new Map<string, () => Promise<BuildContext>>([["context", () => openContext({ root: contextDir })]]);
  const sandbox = createSandbox();
  const cacheMountsDir = join(dir, "cache-mounts");
  return {
    dir, layout, store, images, snap, refs, records, contextDir, registry,
    deps: (over = {}) => ({
      layout, store, images, registry, snapshotter: snap, refs, sandbox,
      uidMap: session.uidMap, gidMap: session.gidMap, contexts, secrets,
      imageResolve: { pull: false }, cacheMountsDir, ...over,
    }),
    async close() {
      await registry.close();
      await snap.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An image source vertex. */
export function imageVertex(ref = BUSYBOX): Vertex {
  return createVertex({ kind: "source", source: { type: "image", ref, platform: hostPlatform() } }, [], { name: `FROM ${ref}` });
}

/** The build context source vertex. */
export function contextVertex(): Vertex {
  return createVertex({ kind: "source", source: { type: "local", name: "context" } }, [], { name: "context" });
}

export interface RunOptions {
  readonly mounts?: readonly ExecMount[];
  /** Extra inputs (mount `input` indexes start at 1). */
  readonly inputs?: readonly Vertex[];
  readonly network?: ExecOp["network"];
  readonly env?: readonly string[];
  readonly user?: string;
}

/** A `RUN /bin/sh -c script` vertex on `base`. */
export function runVertex(base: Vertex | null, script: string, o: RunOptions = {}): Vertex {
  const inputs = [...(base ? [base] : []), ...(o.inputs ?? [])].map((vertex) => ({ vertex, output: 0 }));
  const op: ExecOp = {
    kind: "exec",
    meta: { args: ["/bin/sh", "-c", script], env: [...(o.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])], cwd: "/", user: o.user ?? "" },
    network: o.network ?? "default",
    security: "sandbox",
    mounts: [{ type: "bind", dest: "/", input: base ? 0 : null, readonly: false, output: 0 }, ...(o.mounts ?? [])],
  };
  return createVertex(op, inputs, { name: `RUN ${script}` });
}

export interface Solved extends SolveResult<OpResult> {
  readonly events: readonly ProgressEvent[];
  /** Everything the process printed (stdout and stderr). */
  readonly logs: string;
  readonly ref: BuildRef;
}

/** Solve `root` as one build (a fresh resolver, like a new `tsbuild build`). */
export async function solveVertex(root: OpsRoot, vertex: Vertex, over: Partial<OpDeps> = {}): Promise<Solved> {
  const events: ProgressEvent[] = [];
  const deps = root.deps(over);
  const res = await solve(toSolverGraph({ vertex, output: 0 }), {
    resolver: createOpResolver(deps),
    cache: createOpCacheStore(root.records),
    progress: (e) => events.push(e),
    execConcurrency: 2,
  });
  const logs = events.flatMap((e) => (e.type === "vertex.log" ? [Buffer.from(e.data).toString("utf8")] : [])).join("");
  if (res.result.kind !== "fs") throw new Error(`expected a filesystem result, got ${res.result.kind}`);
  return { ...res, events, logs, ref: res.result.ref };
}

/** Entry names and contents of layer `i` of `ref`, from the exported (uncompressed) tar. */
export async function layerEntries(root: OpsRoot, ref: BuildRef, i: number): Promise<{ names: string[]; bytes: Buffer }> {
  const exported = await root.refs.exportLayer(ref, i, { compression: "none" });
  const bytes = await root.store.readBytes(exported.blob.digest);
  const names: string[] = [];
  const extract = tar.extract();
  await new Promise<void>((resolve, reject) => {
    extract.on("entry", (h, stream, next) => {
      names.push(h.name);
      stream.on("end", next);
      stream.resume();
    });
    extract.on("finish", resolve);
    extract.on("error", reject);
    extract.end(bytes);
  });
  return { names, bytes };
}

export async function writeContext(root: OpsRoot, files: Readonly<Record<string, string>>): Promise<void> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(root.contextDir, name), text);
}
