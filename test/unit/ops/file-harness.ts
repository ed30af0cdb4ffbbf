/**
 * Shared fixture of the file-op tests: a temp tsbuild root with a real snapshotter, a busybox base layer, build
 * contexts made on disk, and a tree dump of a result (paths, types, modes, owners, contents, link targets).
 */
import { afterAll } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { chmod, lchown, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { requireSession } from "../../helpers/session.js";
import { busyboxRootfsTar } from "../../helpers/base-images.js";
import { openContentStore, rootLayout } from "../../../src/store/index.js";
import { createSnapshotter, type Snapshotter } from "../../../src/snapshot/index.js";
import { EMPTY_REF, RefManager, type BuildRef } from "../../../src/cache/index.js";
import { openContext, type BuildContext } from "../../../src/context/index.js";
import { createVertex, type Edge, type FileAction, type Vertex } from "../../../src/graph/index.js";
import { noProgress } from "../../../src/progress/events.js";
import type { CacheMap } from "../../../src/solver/index.js";
import type { OpDeps, OpResult } from "../../../src/ops/types.js";
import { createFileOp } from "../../../src/ops/file.js";

export interface Harness {
  readonly dir: string;
  readonly refs: RefManager;
  readonly snap: Snapshotter;
  /** busybox rootfs (root, app 1000 in staff 50, nobody; /etc/passwd, /etc/group). */
  readonly base: BuildRef;
  readonly deps: OpDeps;
  close(): Promise<void>;
}

export async function openHarness(extra: Partial<OpDeps> = {}): Promise<Harness> {
  const session = requireSession();
  const dir = await mkdtemp(join(tmpdir(), "tsb-fileop-"));
  const layout = rootLayout(dir);
  const store = await openContentStore(dir);
  const snap = await createSnapshotter(layout.snapshots);
  const refs = new RefManager({ snapshotter: snap, store, layout });
  const w = await refs.prepare(EMPTY_REF);
  execFileSync("tar", ["-xf", await busyboxRootfsTar(), "-C", w.path]);
  const base = await w.commit();
  const deps = { refs, uidMap: session.uidMap, gidMap: session.gidMap, ...extra } as unknown as OpDeps;
  return {
    dir,
    refs,
    snap,
    base,
    deps,
    close: async () => {
      await snap.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A context file: content (mode 0644), or a full spec. */
export type CtxFile = string | { readonly content?: string; readonly mode?: number; readonly link?: string; readonly dir?: true; readonly hardlinkOf?: string; readonly mtime?: number };

/** Context directories made by makeContext in this test file, removed after its tests. */
const contexts: string[] = [];
afterAll(async () => {
  for (const d of contexts.splice(0)) await rm(d, { recursive: true, force: true });
});

/** Make a context directory from a file table and open it (removed after the test file's tests). */
export async function makeContext(files: Readonly<Record<string, CtxFile>>, dockerignore?: string): Promise<{ root: string; ctx: BuildContext }> {
  const root = await mkdtemp(join(tmpdir(), "tsb-fileop-ctx-"));
  contexts.push(root);
  for (const [p, spec] of Object.entries(files)) {
    const abs = join(root, p);
    await mkdir(dirname(abs), { recursive: true });
    const s = typeof spec === "string" ? { content: spec } : spec;
    if (s.dir) await mkdir(abs, { recursive: true });
    else if (s.link !== undefined) await symlink(s.link, abs);
    else if (s.hardlinkOf !== undefined) execFileSync("ln", [join(root, s.hardlinkOf), abs]);
    else await writeFile(abs, s.content ?? "");
    if (s.mode !== undefined) await chmod(abs, s.mode);
    if (s.link === undefined) {
      // Context files are owned by whoever made them: give them an odd owner to prove COPY resets it to 0:0.
      await lchown(abs, 1000, 1000).catch(() => {});
      if (s.mtime !== undefined) await utimes(abs, s.mtime, s.mtime);
    }
  }
  if (dockerignore !== undefined) await writeFile(join(root, ".dockerignore"), dockerignore);
  return { root, ctx: await openContext({ root }) };
}

const IMAGE = { os: "linux", architecture: "amd64" };
const baseVertex = createVertex({ kind: "source", source: { type: "image", ref: "docker.io/library/busybox:latest", platform: IMAGE } }, [], { name: "base" });
const ctxVertex = createVertex({ kind: "source", source: { type: "local", name: "context" } }, [], { name: "context" });
const stageVertex = createVertex({ kind: "source", source: { type: "image", ref: "docker.io/library/stage:latest", platform: IMAGE } }, [], { name: "stage" });
const edge = (vertex: Vertex): Edge => ({ vertex, output: 0 });

/** Input indexes of the test vertex. */
export const BASE = 0;
export const CTX = 1;
export const STAGE = 2;

export interface RunInputs {
  readonly base?: BuildRef;
  readonly ctx?: BuildContext;
  readonly stage?: BuildRef;
  readonly signal?: AbortSignal;
}

export function fileVertex(actions: readonly FileAction[], base: number | null = BASE): Vertex {
  return createVertex({ kind: "file", base, actions: [...actions] }, [edge(baseVertex), edge(ctxVertex), edge(stageVertex)], { name: "test file op" });
}

/** Run a file op with inputs [base, context, stage]; returns the committed ref. */
export async function runFileOp(h: Harness, actions: readonly FileAction[], inputs: RunInputs = {}): Promise<BuildRef> {
  const v = fileVertex(actions);
  const op = createFileOp(v, h.deps);
  const empty = inputs.ctx ?? (await makeContext({})).ctx;
  const results: OpResult[] = [
    { kind: "fs", ref: inputs.base ?? h.base },
    { kind: "local", context: empty },
    { kind: "fs", ref: inputs.stage ?? EMPTY_REF },
  ];
  const r = await op.exec(results, { signal: inputs.signal ?? new AbortController().signal, progress: noProgress, vertex: { digest: v.digest, name: v.options.name } });
  if (r.kind !== "fs") throw new Error("file op returned a non-fs result");
  return r.ref;
}

/** The cache map of a file op and the content digest of its context input (input 1). */
export async function cacheOf(h: Harness, actions: readonly FileAction[], ctx: BuildContext): Promise<{ map: CacheMap<OpResult>; ctxDigest: string | undefined }> {
  const v = fileVertex(actions);
  const op = createFileOp(v, h.deps);
  const map = await op.cacheMap({ signal: new AbortController().signal, progress: noProgress, vertex: { digest: v.digest, name: "t" } });
  const dep = map.deps[CTX];
  const ctxDigest = dep?.computeDigest ? await dep.computeDigest({ kind: "local", context: ctx }, new AbortController().signal) : undefined;
  return { map, ctxDigest };
}

/**
 * A dump of the tree under `under` in `ref`: one line per path, `file 644 0:0 "content"`, `dir 755 0:0`,
 * `link 0:0 -> target`. Paths relative to `under`.
 */
export async function dumpTree(h: Harness, ref: BuildRef, under: string): Promise<Record<string, string>> {
  const view = await h.refs.view(ref);
  try {
    const out: Record<string, string> = {};
    const rootAbs = join(view.path, under);
    const visit = async (abs: string, rel: string): Promise<void> => {
      const st = await lstat(abs);
      const mode = (st.mode & 0o7777).toString(8);
      const own = `${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out[rel] = `link ${own} -> ${await readlink(abs)}`;
      else if (st.isFile()) out[rel] = `file ${mode} ${own} ${JSON.stringify(await readFile(abs, "utf8"))}`;
      else if (st.isDirectory()) {
        out[rel] = `dir ${mode} ${own}`;
        for (const n of (await readdir(abs)).sort()) await visit(join(abs, n), rel === "." ? n : `${rel}/${n}`);
      } else out[rel] = `other ${mode} ${own}`;
    };
    await visit(rootAbs, ".");
    return out;
  } finally {
    await view.release();
  }
}

/** lstat of a path in a ref. */
export async function statIn(h: Harness, ref: BuildRef, path: string): Promise<import("node:fs").Stats | null> {
  const view = await h.refs.view(ref);
  try {
    return await lstat(join(view.path, path)).catch(() => null);
  } finally {
    await view.release();
  }
}

/** A COPY action from the context with the Dockerfile frontend's defaults. */
export function copyCtx(srcPath: string, dest: string, extra: Partial<import("../../../src/graph/index.js").CopyAction> = {}): FileAction {
  return {
    action: "copy",
    src: CTX,
    srcPath,
    dest,
    followSymlinks: true,
    dirContents: true,
    allowWildcard: true,
    allowEmptyWildcard: true,
    createDestPath: true,
    ...extra,
  };
}
