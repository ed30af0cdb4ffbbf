/**
 * The exec op (RUN; BuildKit's llbsolver/ops/exec.go). Key: the canonical op without proxy variables and without
 * any secret value (the graph only holds secret ids and targets), the rootfs input by its cache key, context bind
 * mounts by the content they expose, stage mounts by their cache keys. Run: a writable snapshot of the rootfs,
 * the mounts of run-mounts.ts, one sandboxed process; its output streams as vertex.log events. Exit 0 commits the
 * snapshot as one new layer; anything else discards it and throws ExecError (TSB_EXEC_FAILED).
 */
import { Writable } from "node:stream";
import { canonicalJson } from "../util/canonical-json.js";
import { sha256, type Digest } from "../util/digest.js";
import type { ExecOp, Vertex } from "../graph/index.js";
import type { ProcessSpec } from "../executor/index.js";
import type { CacheDep, ExecContext, Op } from "../solver/index.js";
import type { ProgressSink } from "../progress/events.js";
import { ExecError, OpsError } from "./errors.js";
import { fsInput } from "./inputs.js";
import { prepareMounts } from "./run-mounts.js";
import { createMountPoints, removeFileStubs } from "./mount-points.js";
import type { OpEnv } from "./resolver.js";
import type { OpResult } from "./types.js";
import { explainEnv } from "./explain-facts.js";
import { assertRunnable } from "./image-platform.js";
import { needsEtcStubs, touchEtc, withDefaultHome } from "./exec-home.js";

/** BuildKit's default PATH for Linux containers, set when the environment has none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The digested form of an exec op: everything but proxyEnv (secret mounts carry ids and targets only). */
export function execOpDigest(op: ExecOp): Digest {
  const { proxyEnv: _proxy, ...rest } = op;
  return sha256(canonicalJson({ v: 1, type: "exec", op: rest }));
}

/**
 * The process environment: the op's env, then proxy variables (upper- and lower-case, as BuildKit passes them;
 * they replace ENV values of the same names, as containerd's WithEnv does), then PATH when missing, then env-form
 * secrets.
 */
export function execEnv(op: ExecOp, extra: readonly string[] = []): string[] {
  const env = [...op.meta.env];
  const has = (k: string): boolean => env.some((e) => e.startsWith(`${k}=`));
  const set = (e: string): void => {
    const k = e.slice(0, e.indexOf("="));
    const i = env.findIndex((x) => x.startsWith(`${k}=`));
    if (i >= 0) env[i] = e;
    else env.push(e);
  };
  for (const [k, v] of Object.entries(op.proxyEnv ?? {})) {
    if (v === undefined) continue;
    set(`${k}=${v}`);
    set(`${k.toLowerCase()}=${v}`);
  }
  if (!has("PATH")) env.push(`PATH=${DEFAULT_PATH}`);
  for (const e of extra) set(e);
  return env;
}

function logStream(progress: ProgressSink, digest: string, stream: 1 | 2): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      progress({ type: "vertex.log", digest, stream, data: new Uint8Array(chunk), time: Date.now() });
      cb();
    },
  });
}

/** Per input: content-based key for context bind mounts, selectors for the sub-paths used. */
function cacheDeps(vertex: Vertex, op: ExecOp): CacheDep<OpResult>[] {
  return vertex.inputs.map((edge, i) => {
    const uses = op.mounts.filter((m) => (m.type === "bind" || m.type === "cache") && m.input === i) as readonly { readonly type: string; readonly selector?: string }[];
    const selectors = [...new Set(uses.map((m) => m.selector ?? "/"))].sort();
    const selector = selectors.length > 0 && !(selectors.length === 1 && selectors[0] === "/") ? selectors.join("\n") : undefined;
    const src = edge.vertex.op;
    const local = src.kind === "source" && src.source.type === "local" && uses.every((m) => m.type === "bind");
    if (!local || uses.length === 0) return selector !== undefined ? { selector } : {};
    return {
      ...(selector !== undefined ? { selector } : {}),
      computeDigest: async (input: OpResult): Promise<Digest> => {
        if (input.kind !== "local") throw new OpsError("TSB_OPS_BAD_INPUT", `input ${i} of ${JSON.stringify(vertex.options.name)} is not a build context`, { hint: "this is a bug in the graph" });
        const sums = await Promise.all(selectors.map((s) => input.context.checksum({ path: s, followLinks: true })));
        return sums.length === 1 ? sums[0]! : sha256(canonicalJson(sums));
      },
    };
  });
}

export function createExecOp(vertex: Vertex, op: ExecOp, env: OpEnv): Op<OpResult> {
  const root = op.mounts[0];
  return {
    heavy: true,
    async cacheMap() {
      if (!root || root.type !== "bind" || root.dest !== "/") {
        throw new OpsError("TSB_OPS_BAD_GRAPH", `exec op ${JSON.stringify(vertex.options.name)} has no rootfs mount`, { hint: "this is a bug in the frontend" });
      }
      const explain = { command: op.meta.args.join(" "), network: op.network, env: explainEnv(op.meta.env), cwd: op.meta.cwd, user: op.meta.user };
      return { opDigest: execOpDigest(op), deps: cacheDeps(vertex, op), explain };
    },
    async exec(inputs, ctx: ExecContext): Promise<OpResult> {
      if (!root || root.type !== "bind") throw new OpsError("TSB_OPS_BAD_GRAPH", "exec op has no rootfs mount", { hint: "this is a bug in the frontend" });
      if (op.security === "insecure") {
        throw new OpsError("TSB_OPS_UNSUPPORTED", "RUN --security=insecure is not supported", { hint: "remove --security=insecure; the rootless sandbox cannot grant extra privileges" });
      }
      // A foreign-platform stage (FROM --platform=…) cannot run without emulation: say so before mounting anything.
      assertRunnable(vertex);
      const { refs, sandbox } = env.deps;
      const { signal } = ctx;
      const active = await refs.prepare(fsInput(inputs, root.input, "rootfs"), signal);
      let cleanup: (() => Promise<void>) | undefined;
      try {
        const prepared = await prepareMounts(op.mounts.slice(1), inputs, env, signal);
        cleanup = prepared.cleanup;
        // Docker 20.10 keeps the mount-point directories it had to create in the layer.
        const stubs = await createMountPoints(active.path, prepared.mounts);
        // No USER: uid/gid 0 without looking up /etc/passwd (BuildKit's GetUser), so scratch rootfs work.
        const user = op.meta.user || "0:0";
        const etcStubs = await needsEtcStubs(active.path);
        const spec: ProcessSpec = {
          rootfs: active.path,
          mounts: prepared.mounts,
          args: op.meta.args,
          // runc sets HOME from the rootfs' /etc/passwd when the environment has none.
          env: await withDefaultHome(execEnv(op, prepared.env), active.path, user),
          cwd: op.meta.cwd || "/",
          network: op.network === "none" ? "none" : "host",
          user,
          ...(op.meta.hostname ? { hostname: op.meta.hostname } : {}),
          ...(op.meta.extraHosts?.length ? { extraHosts: op.meta.extraHosts.map((h) => `${h.ip}\t${h.host}`) } : {}),
        };
        const digest = ctx.vertex.digest;
        const { exitCode } = await sandbox.run(spec, { signal, stdout: logStream(ctx.progress, digest, 1), stderr: logStream(ctx.progress, digest, 2) });
        if (exitCode !== 0) throw new ExecError(op.meta.args, exitCode);
        await removeFileStubs(stubs);
        // Docker's runtime created (and BuildKit removed) /etc/hosts and /etc/resolv.conf stubs: /etc was touched.
        if (etcStubs) await touchEtc(active.path);
        await cleanup();
        cleanup = undefined;
        return { kind: "fs", ref: await active.commit() };
      } catch (err) {
        await cleanup?.();
        await active.discard().catch(() => {});
        throw err;
      }
    },
  };
}
