/**
 * The file op (BuildKit's FileOp with its file backend): COPY/ADD, WORKDIR's mkdir, heredoc mkfile and rm, applied
 * in order on a writable snapshot of the base input and committed as one layer.
 *
 * Cache keys: the op digest covers the canonical FileOp (plus SOURCE_DATE_EPOCH when a mkdir stamps it). The base
 * input counts by its cache key. A copy source from the build context counts by content: the context room's
 * checksum of exactly the selected paths (mtime- and owner-independent, so touching a file keeps the cache). A copy
 * source from another stage or image counts by that input's cache key — the simplest correct choice: an unchanged
 * key means the same filesystem, at the price of re-running when the stage changed in paths this copy never reads.
 */
import type { CopyAction, FileOp, Vertex } from "../graph/index.js";
import type { CacheDep, ExecContext, Op } from "../solver/index.js";
import type { BuildContext } from "../context/index.js";
import type { RefView } from "../cache/index.js";
import { assertNever } from "../errors.js";
import { canonicalJson } from "../util/canonical-json.js";
import { sha256, type Digest } from "../util/digest.js";
import { OpsError } from "./errors.js";
import { fsInput } from "./inputs.js";
import type { OpDeps, OpResult } from "./types.js";
import { FileOpError } from "./file-errors.js";
import { parseChmod } from "./file-mode.js";
import { checkMapped, resolveOwner } from "./file-owner.js";
import { cleanAbs, lstatOrNull, resolveInRoot } from "./file-root-path.js";
import { applyMkdir, applyMkfile, applyRm } from "./file-actions.js";
import { contextSelector, listFromContext, listFromHttp, listFromTree, type SourceItem } from "./copy-sources.js";
import { copyItem, type CopyTarget } from "./copy-apply.js";
import { detectArchive, unpackArchive } from "./copy-unpack.js";
import { execContextCopy } from "./incremental-copy.js";
import { posix } from "node:path";

type InputKind = "local" | "http" | "fs";

function inputKind(vertex: Vertex, index: number): InputKind {
  const op = vertex.inputs[index]?.vertex.op;
  if (op?.kind === "source" && op.source.type === "local") return "local";
  if (op?.kind === "source" && op.source.type === "http") return "http";
  return "fs";
}

function fileOpOf(vertex: Vertex): FileOp {
  if (vertex.op.kind !== "file") {
    throw new OpsError("TSB_OPS_BAD_GRAPH", `createFileOp got a ${vertex.op.kind} vertex (${JSON.stringify(vertex.options.name)})`, { hint: "this is a bug in the op resolver" });
  }
  return vertex.op;
}

/** What a copy reads from a stage or image, for messages. */
function sourceLabel(vertex: Vertex, index: number): string {
  const op = vertex.inputs[index]?.vertex.op;
  if (op?.kind === "source" && op.source.type === "image") return `image ${op.source.ref}`;
  if (op?.kind === "file" && op.base === null && op.actions.every((a) => a.action === "mkfile")) return "the inline document";
  return "the stage copied from";
}

/** The content digest of everything the copies of one context input read. */
async function contextDigest(ctx: BuildContext, copies: readonly CopyAction[]): Promise<Digest> {
  const parts: [string, string][] = [];
  for (const a of copies) {
    const sel = contextSelector(a);
    parts.push([canonicalJson(sel), await ctx.checksum(sel)]);
  }
  return sha256(`tsbuild.copy-sources.v1 ${canonicalJson(parts)}`);
}

/**
 * What the copies of one context input read, for `--explain`: the checksums of their selections (already computed
 * for the key). The context room stores each selection's entry digests by checksum (`loadSelectionFiles`), so a
 * build records 64 hex digits per COPY source instead of one digest per file.
 */
async function contextFiles(ctx: BuildContext, copies: readonly CopyAction[]): Promise<{ readonly selections: readonly string[] }> {
  return { selections: await Promise.all(copies.map((a) => ctx.checksum(contextSelector(a)))) };
}

/**
 * The op of a file vertex (`vertex.op.kind === "file"`). `exec` prepares a writable snapshot of the base, applies the
 * actions in order and commits it (`{kind: "fs", ref}`); on any failure or abort the snapshot is discarded.
 */
export function createFileOp(vertex: Vertex, deps: OpDeps, opts: { readonly ignoreCache?: boolean } = {}): Op<OpResult> {
  const op = fileOpOf(vertex);
  const stampsTime = op.actions.some((a) => a.action === "mkdir") && deps.sourceDateEpoch !== undefined;
  const opDigest = sha256(canonicalJson({ type: "tsbuild.file.v1", op, ...(stampsTime ? { epoch: deps.sourceDateEpoch } : {}) }));
  // One COPY from the build context: may be built from the previous result (incremental-copy.ts).
  const only = op.actions.length === 1 && op.actions[0]?.action === "copy" ? op.actions[0] : undefined;
  const contextCopy = only !== undefined && only.src !== null && only.src !== op.base && inputKind(vertex, only.src) === "local" ? only : undefined;
  return {
    async cacheMap() {
      // Filled by computeDigest below (before the key is final), read by --explain from the build record.
      const files: Record<string, unknown> = {};
      const cacheDeps: CacheDep<OpResult>[] = vertex.inputs.map((_, i) => {
        const copies = op.actions.filter((a): a is CopyAction => a.action === "copy" && a.src === i);
        if (op.base === i || copies.length === 0 || inputKind(vertex, i) !== "local") return {};
        return {
          selector: copies.map((a) => a.srcPath).join("\n"),
          computeDigest: async (input: OpResult) => {
            if (input.kind !== "local") throw new OpsError("TSB_OPS_BAD_INPUT", `copy source input ${i} is a ${input.kind} result, not a build context`, { hint: "this is a bug in the graph" });
            const digest = await contextDigest(input.context, copies);
            files[String(i)] = await contextFiles(input.context, copies);
            return digest;
          },
        };
      });
      return {
        opDigest,
        deps: cacheDeps,
        explain: { actions: op.actions.map((a) => (a.action === "copy" ? `copy ${a.srcPath} ${a.dest}` : `${a.action} ${a.path}`)), contextFiles: files },
      };
    },

    async exec(inputs: readonly OpResult[], ctx: ExecContext): Promise<OpResult> {
      const { signal } = ctx;
      const base = fsInput(inputs, op.base, vertex.options.name);
      const input = contextCopy?.src != null ? inputs[contextCopy.src] : undefined;
      if (contextCopy !== undefined && input?.kind === "local") {
        return execContextCopy({
          a: contextCopy, opDigest, base, context: input.context, deps, ctx, useRecord: opts.ignoreCache !== true,
          target: (root) => copyTarget(root, contextCopy, deps, signal),
          copyAll: (root, items) => applyCopy(root, contextCopy, items, 1, deps, signal),
        });
      }
      const active = await deps.refs.prepare(base, signal);
      const views = new Map<number, Promise<RefView>>();
      const view = (i: number, ref: Parameters<OpDeps["refs"]["view"]>[0]): Promise<RefView> => {
        let v = views.get(i);
        if (v === undefined) views.set(i, (v = deps.refs.view(ref, signal)));
        return v;
      };
      const perDest = new Map<string, number>();
      for (const a of op.actions) if (a.action === "copy") perDest.set(a.dest, (perDest.get(a.dest) ?? 0) + 1);
      try {
        for (const a of op.actions) {
          signal.throwIfAborted();
          switch (a.action) {
            case "copy": {
              const items = await listSources(a, inputs, vertex, view, signal);
              await applyCopy(active.path, a, items, perDest.get(a.dest) ?? 1, deps, signal);
              break;
            }
            case "mkdir": {
              const owner = await resolveOwner(active.path, a.chown);
              if (owner !== undefined) checkMapped(owner, deps.uidMap, deps.gidMap);
              await applyMkdir(active.path, a, owner, deps.sourceDateEpoch !== undefined ? new Date(deps.sourceDateEpoch * 1000) : undefined);
              break;
            }
            case "mkfile": {
              const owner = await resolveOwner(active.path, a.chown);
              if (owner !== undefined) checkMapped(owner, deps.uidMap, deps.gidMap);
              await applyMkfile(active.path, a, owner);
              break;
            }
            case "rm":
              await applyRm(active.path, a);
              break;
            default:
              assertNever(a, "file action");
          }
        }
        signal.throwIfAborted();
        return { kind: "fs", ref: await active.commit() };
      } catch (err) {
        await active.discard().catch(() => {});
        throw err;
      } finally {
        for (const v of views.values()) await v.then((x) => x.release(), () => {}).catch(() => {});
      }
    },
  };
}

async function listSources(
  a: CopyAction,
  inputs: readonly OpResult[],
  vertex: Vertex,
  view: (i: number, ref: Parameters<OpDeps["refs"]["view"]>[0]) => Promise<RefView>,
  signal: AbortSignal,
): Promise<SourceItem[]> {
  if (a.src === null) {
    if (a.allowWildcard && a.allowEmptyWildcard) return [];
    throw new FileOpError("TSB_OPS_COPY_NOT_FOUND", `${JSON.stringify(a.srcPath)}: not found (the source is an empty filesystem)`, { hint: "check the stage you copy from" });
  }
  const input = inputs[a.src];
  if (input === undefined) throw new OpsError("TSB_OPS_BAD_INPUT", `copy source input ${a.src} is missing`, { hint: "this is a bug in the graph" });
  switch (input.kind) {
    case "local":
      return listFromContext(input.context, a);
    case "http":
      if (a.checksum !== undefined && a.checksum !== input.digest) {
        throw new FileOpError("TSB_OPS_COPY_CHECKSUM", `checksum mismatch for ${input.filename}: expected ${a.checksum}, got ${input.digest}`, { hint: "update --checksum or check the URL" });
      }
      return listFromHttp(input.path, input.filename);
    case "fs":
      return listFromTree((await view(a.src, input.ref)).path, a, sourceLabel(vertex, a.src), signal);
    default:
      return assertNever(input, "input result");
  }
}

/** Where and how a copy action writes into the mounted rootfs `root` (--chown resolved there, --chmod parsed). */
async function copyTarget(root: string, a: CopyAction, deps: OpDeps, signal: AbortSignal): Promise<CopyTarget> {
  const owner = await resolveOwner(root, a.chown);
  if (owner !== undefined) checkMapped(owner, deps.uidMap, deps.gidMap);
  return {
    root,
    signal,
    ...(owner !== undefined ? { owner } : {}),
    ...(a.chmod !== undefined ? { chmod: parseChmod(a.chmod) } : {}),
  };
}

/** Copy every match; returns the host path each match's root was written to (unpacked archives: none). */
async function applyCopy(root: string, a: CopyAction, items: readonly SourceItem[], sameDest: number, deps: OpDeps, signal: AbortSignal): Promise<string[]> {
  if (!a.createDestPath) {
    const parent = await resolveInRoot(root, posix.dirname(cleanAbs(a.dest)));
    if ((await lstatOrNull(parent.path)) === null) {
      throw new FileOpError("TSB_OPS_COPY_DEST", `failed to stat ${a.dest}: the parent directory does not exist`, { hint: "create the directory first" });
    }
  }
  if (items.length === 0) return [];
  const target = await copyTarget(root, a, deps, signal);
  const sources = sameDest + items.length - 1;
  if (sources > 1 && !a.dest.endsWith("/") && !a.dest.endsWith("/.") && items.some((it) => it.root.type !== "dir")) {
    const st = await lstatOrNull((await resolveInRoot(root, cleanAbs(a.dest))).path);
    if (!st?.isDirectory()) {
      throw new FileOpError("TSB_OPS_COPY_DEST", `${sources} sources are copied to ${JSON.stringify(a.dest)}, which is not a directory`, {
        hint: "end the destination with a slash (/) to copy several sources into a directory",
      });
    }
  }
  const dsts: string[] = [];
  for (const item of items) {
    signal.throwIfAborted();
    if (a.unpack && item.root.type === "file") {
      const kind = await detectArchive(item.root.absPath);
      if (kind !== undefined) {
        await unpackArchive(target, item.root.absPath, kind, a.dest);
        continue;
      }
    }
    dsts.push(await copyItem(target, item, a.dest, a.dirContents));
  }
  return dsts;
}
