/**
 * RUN --mount: turns the exec op's mounts (after the rootfs) into sandbox mounts for one run, and undoes
 * everything afterwards: views released, writable bind copies discarded, secret files removed, ssh agent proxies
 * closed, cache locks freed.
 * Cache mounts live in OpDeps.cacheMountsDir (see cache-mounts.ts).
 */
import { chmod, cp, mkdir, rm, writeFile } from "node:fs/promises";
import { totalmem } from "node:os";
import { join } from "node:path";
import type { BindMount, CacheMount, ExecMount, SecretMount, SshMount } from "../graph/index.js";
import type { Mount } from "../executor/index.js";
import { OpsError } from "./errors.js";
import { openCacheMount } from "./cache-mounts.js";
import { checkMapped } from "./file-owner.js";
import { startSshProxy } from "./ssh-proxy.js";
import { fsInput, resolveInside } from "./inputs.js";
import type { OpEnv } from "./resolver.js";
import type { OpResult } from "./types.js";
import { tempName } from "../store/index.js";

/** Mounts ready for the sandbox, extra environment (secrets with `env=`), and the undo of it all. */
export interface PreparedMounts {
  readonly mounts: readonly Mount[];
  readonly env: readonly string[];
  /** Release everything; safe to call once, never throws. */
  cleanup(): Promise<void>;
}

/** The largest tmpfs size the sandbox accepts. */
const MAX_TMPFS = 0xffff_f000;

type Cleanup = () => Promise<unknown>;

/** Prepare every mount after the rootfs. On failure everything prepared so far is undone. */
export async function prepareMounts(mounts: readonly ExecMount[], inputs: readonly OpResult[], env: OpEnv, signal: AbortSignal): Promise<PreparedMounts> {
  const undo: Cleanup[] = [];
  const out: Mount[] = [];
  const extraEnv: string[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of undo.splice(0).reverse()) await fn().catch(() => {});
  };
  try {
    for (const m of mounts) {
      signal.throwIfAborted();
      switch (m.type) {
        case "bind":
          out.push(await bindMount(m, inputs, env, undo, signal));
          break;
        case "cache": {
          const seed = m.input === null ? undefined : fsInput(inputs, m.input, `cache mount ${m.dest}`);
          const cm = await openCacheMount(m as CacheMount, seed, env, signal);
          undo.push(cm.release);
          out.push({ type: "bind", source: cm.path, target: m.dest, readonly: m.readonly });
          break;
        }
        case "tmpfs":
          // BuildKit leaves the size to the kernel (half of RAM) when none is given; the sandbox takes < 4 GiB.
          out.push({ type: "tmpfs", target: m.dest, size: Math.min(m.size > 0 ? m.size : Math.floor(totalmem() / 2), MAX_TMPFS) });
          break;
        case "secret":
          await secretMount(m, env, undo, out, extraEnv);
          break;
        case "ssh":
          await sshMount(m, env, undo, out);
          break;
      }
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { mounts: out, env: extraEnv, cleanup };
}

async function emptyDir(env: OpEnv, _prefix: string, undo: Cleanup[]): Promise<string> {
  await mkdir(env.deps.layout.tmp, { recursive: true });
  // Named by tempName: what a killed build leaves here is reaped by the next build.
  const dir = join(env.deps.layout.tmp, tempName());
  await mkdir(dir, { mode: 0o700 });
  undo.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function bindMount(m: BindMount, inputs: readonly OpResult[], env: OpEnv, undo: Cleanup[], signal: AbortSignal): Promise<Mount> {
  const what = `bind mount ${m.dest}`;
  const result = m.input === null ? undefined : inputs[m.input];
  if (m.input !== null && !result) throw new OpsError("TSB_OPS_BAD_INPUT", `${what}: input ${m.input} is missing`, { hint: "this is a bug in the graph" });
  if (result?.kind === "local") {
    const r = await result.context.resolve(m.selector ?? "", true);
    if (!r.stat) throw new OpsError("TSB_OPS_MOUNT", `${what}: ${JSON.stringify(m.selector ?? "/")} not found in the build context`, { hint: "check the mount's source= path" });
    if (m.readonly) return { type: "bind", source: r.absPath, target: m.dest, readonly: true };
    // Writes to a context mount are thrown away: give the run a private copy.
    const dir = await emptyDir(env, "bind-", undo);
    const copy = join(dir, "src");
    await cp(r.absPath, copy, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    return { type: "bind", source: copy, target: m.dest, readonly: false };
  }
  if (result?.kind === "http") {
    // The http source's filesystem (BuildKit's llb.HTTP): a directory holding the one file under its name, 0600.
    // A private copy, so a writable mount never touches the downloaded file other steps read.
    const dir = await emptyDir(env, "http-", undo);
    await chmod(dir, 0o755);
    const file = join(dir, result.filename);
    await cp(result.path, file, { preserveTimestamps: true });
    const sel = (m.selector ?? "").replace(/^\/+|\/+$/g, "");
    if (sel === "" || sel === ".") return { type: "bind", source: dir, target: m.dest, readonly: m.readonly };
    if (sel === result.filename) return { type: "bind", source: file, target: m.dest, readonly: m.readonly };
    throw new OpsError("TSB_OPS_MOUNT", `${what}: ${JSON.stringify(m.selector)} not found: the source holds only ${JSON.stringify(result.filename)}`, { hint: "leave out source= or name that file" });
  }
  const ref = fsInput(inputs, m.input, what);
  if (m.readonly) {
    const view = await env.deps.refs.view(ref, signal);
    undo.push(() => view.release());
    return { type: "bind", source: await resolveInside(view.path, m.selector, what), target: m.dest, readonly: true };
  }
  // A writable bind of a Dockerfile mount: changes are discarded after the run (no output is kept).
  const active = await env.deps.refs.prepare(ref, signal);
  undo.push(() => active.discard());
  return { type: "bind", source: await resolveInside(active.path, m.selector, what), target: m.dest, readonly: false };
}

async function secretMount(m: SecretMount, env: OpEnv, undo: Cleanup[], out: Mount[], extraEnv: string[]): Promise<void> {
  const { id, required } = m.secret;
  const src = env.deps.secrets.get(id);
  if (!src) {
    if (!required) return;
    throw new OpsError("TSB_OPS_SECRET_MISSING", `secret ${id}: not found`, { hint: `pass it with --secret id=${id},src=FILE (or env=VAR)` });
  }
  const value = await src.read();
  if (m.secret.env !== undefined) extraEnv.push(`${m.secret.env}=${value.toString("utf8")}`);
  if (m.dest === "") return;
  const dir = await emptyDir(env, "secret-", undo);
  const file = join(dir, "secret");
  await writeFile(file, value, { mode: 0o600 });
  out.push({ type: "secret", source: file, target: m.dest, mode: m.secret.mode, uid: m.secret.uid, gid: m.secret.gid });
}

/**
 * An ssh agent forwarded with `--ssh`: a private proxy socket (ssh-proxy.ts) bound at the target for this run.
 * Not forwarded: an optional mount is left out, a required one fails with BuildKit's message.
 */
async function sshMount(m: SshMount, env: OpEnv, undo: Cleanup[], out: Mount[]): Promise<void> {
  const { id, required, uid, gid, mode } = m.ssh;
  const src = env.deps.ssh?.get(id);
  if (!src) {
    if (!required) return;
    throw new OpsError("TSB_OPS_SSH_MISSING", `no SSH key ${JSON.stringify(id)} forwarded from the client`, {
      hint: id === "default" ? "forward your ssh agent with --ssh default (it uses $SSH_AUTH_SOCK)" : `forward an ssh agent with --ssh ${id}=SOCKET (or --ssh ${id} for $SSH_AUTH_SOCK)`,
    });
  }
  checkMapped({ uid, gid }, env.deps.uidMap, env.deps.gidMap);
  const dir = await emptyDir(env, "ssh-", undo);
  const proxy = await startSshProxy({ agentSocket: src.socket, dir, uid, gid, mode }).catch((err: NodeJS.ErrnoException) => {
    // Only the proxy's own socket can fail here (the agent is dialled per connection); never name the agent's path.
    throw new OpsError("TSB_OPS_MOUNT", `ssh mount ${m.dest}: cannot create the agent socket (${err.code ?? "error"})`, {
      hint: "check that the tsbuild root's tmp directory is writable and on a local filesystem",
    });
  });
  undo.push(() => proxy.close());
  out.push({ type: "bind", source: proxy.path, target: m.dest, readonly: false });
}
