/**
 * RUN → exec vertex (BuildKit dispatchRun, convert_runmount.go, convert_secrets.go, convert_ssh.go).
 */
import { posix } from "node:path";
import { createVertex, type Edge, type ExecMount } from "../graph/index.js";
import type { RunInstruction } from "../parser/index.js";
import { FrontendError } from "./errors.js";
import type { Linter } from "./lint/linter.js";
import { type DispatchContext, displayLine, expandFor, prefixCommand, vertexSource } from "./dispatch-common.js";
import { parseMountSpec } from "./run-mounts.js";
import { commitToHistory, withShell, type DispatchState } from "./stage-state.js";

const HEREDOC_ONLY = /^\s*[0-9]*<<-?\s*(["']?)([^\s"'<]+)\1\s*$/;

/** First line of a heredoc plus `...` when there are more (BuildKit summarizeHeredoc). */
function summarizeHeredoc(doc: string): string {
  const lines = doc.trim().replace(/\r\n/g, "\n").split("\n");
  return lines.length > 1 ? `${lines[0]}...` : (lines[0] ?? "");
}

/**
 * `|2 A=1 B=2 /bin/sh -c make`: declared ARGs prefix the command in history, one per declaration, a redeclared name
 * included (as Docker 20.10's BuildKit prints it, declared proxy ARGs too).
 */
export function runCommandString(args: readonly string[], d: DispatchState): string {
  const parts: string[] = [];
  for (const a of d.buildArgs) parts.push(`${a.key}=${d.env.get(a.key) ?? a.value ?? ""}`);
  const prefix = parts.length > 0 ? [`|${parts.length}`, ...parts] : [];
  return [...prefix, ...args].join(" ");
}

export function dispatchRun(ctx: DispatchContext, d: DispatchState, ins: RunInstruction, lint: Linter, sources: readonly (DispatchState | undefined)[]): void {
  let args = [...ins.command.args];
  let name = ins.original;
  const inputs: Edge[] = d.root === null ? [] : [d.root];
  const rootInput = d.root === null ? null : 0;
  const mounts: ExecMount[] = [{ type: "bind", dest: "/", input: rootInput, readonly: false, output: 0 }];
  const addInput = (e: Edge | null): number | null => {
    if (e === null) return null;
    inputs.push(e);
    return inputs.length - 1;
  };

  if (ins.files.length > 0) {
    const first = ins.files[0]!;
    if (args.length !== 1 || ins.command.json) throw new FrontendError("TSB_FRONTEND_BAD_RUN", `parsing produced an invalid run command: ${JSON.stringify(args)}`);
    if (ins.files.length === 1 && HEREDOC_ONLY.test(args[0]!)) {
      const data = first.data;
      if (d.image.os !== "windows" && data.startsWith("#!")) {
        const file = createVertex(
          { kind: "file", base: null, actions: [{ action: "mkfile", path: `/${first.name}`, mode: 0o755, data }] },
          [],
          { name: "preparing inline document" },
        );
        mounts.push({ type: "bind", dest: "/dev/pipes/", input: addInput({ vertex: file, output: 0 }), readonly: true });
        args = [posix.join("/dev/pipes/", first.name)];
      } else {
        args = [data];
      }
      name += ` (${summarizeHeredoc(first.data)})`;
    } else {
      args = [args[0] + ins.files.map((f) => `\n${f.data}${f.name}`).join("")];
    }
  }
  if (!ins.command.json) args = withShell(d.image, args);

  // Mounts, expanded with the stage env (BuildKit expands each --mount value at dispatch time).
  let maskedEnv: Map<string, string> | undefined;
  ins.mounts.forEach((raw, i) => {
    const m = parseMountSpec(expandFor(ctx, d, lint, ins.source, raw, { rawQuotes: true }));
    const fromState = m.from !== undefined ? sources[i] : undefined;
    if (m.from !== undefined && (!fromState || !fromState.dispatched)) {
      throw new FrontendError("TSB_FRONTEND_STAGE_ORDER", `cannot mount from stage ${JSON.stringify(m.from)} to ${JSON.stringify(m.target ?? "")}, stage needs to be defined before current command`);
    }
    if (m.type === "secret") {
      let id = m.source ?? m.id ?? "";
      if (id === "") id = posix.basename(m.target ?? "");
      const dest = m.target ?? (m.env !== undefined ? "" : `/run/secrets/${posix.basename(id)}`);
      mounts.push({ type: "secret", dest, secret: { id, required: m.required, mode: m.mode ?? 0o400, uid: m.uid ?? 0, gid: m.gid ?? 0, ...(m.env !== undefined ? { env: m.env } : {}) } });
      if (m.env !== undefined) (maskedEnv ??= new Map(d.env)).set(m.env, "****");
      return;
    }
    if (m.type === "ssh") {
      if (m.source) throw new FrontendError("TSB_FRONTEND_BAD_MOUNT", "ssh does not support source");
      mounts.push({ type: "ssh", dest: m.target ?? `/run/buildkit/ssh_agent.${mounts.filter((x) => x.type === "ssh").length}`, ssh: { id: m.id ?? "default", required: m.required, mode: m.mode ?? 0o600, uid: m.uid ?? 0, gid: m.gid ?? 0 } });
      return;
    }
    const rawTarget = m.target ?? "";
    const target = posix.isAbsolute(posix.normalize(rawTarget || ".")) ? posix.normalize(rawTarget) : posix.join("/", d.cwd, rawTarget);
    if (target === "/" || rawTarget === "") throw new FrontendError("TSB_FRONTEND_BAD_MOUNT", `invalid mount target ${JSON.stringify(target)}`, { hint: "give the mount a target=/path" });
    const src = posix.join("/", m.source ?? "");
    const selector = src !== "/" ? { selector: src } : {};
    if (m.type === "tmpfs") {
      mounts.push({ type: "tmpfs", dest: target, size: m.size ?? 0 });
    } else if (m.type === "cache") {
      const input = fromState ? addInput(fromState.root) : null;
      mounts.push({
        type: "cache",
        dest: target,
        input,
        ...selector,
        readonly: m.readonly,
        cache: { id: m.id ?? posix.normalize(rawTarget), sharing: m.sharing ?? "shared", ...(m.uid !== undefined ? { uid: m.uid } : {}), ...(m.gid !== undefined ? { gid: m.gid } : {}), ...(m.mode !== undefined ? { mode: m.mode } : {}) },
      });
    } else {
      const input = addInput(fromState ? fromState.root : ctx.context());
      mounts.push({ type: "bind", dest: target, input, ...selector, readonly: m.readonly });
    }
  });

  // Proxy build args go to proxyEnv (kept out of the digest; they override ENV at run time). ENV and ARG values of
  // the same names are ordinary environment, as in Docker 20.10.
  const env: string[] = [];
  for (const [k, v] of d.env) env.push(`${k}=${v}`);
  const proxyEnv = ctx.proxyEnv !== undefined ? { proxyEnv: ctx.proxyEnv } : {};
  // BuildKit (client/llb/exec.go): the first ssh mount is the agent unless the stage sets SSH_AUTH_SOCK itself.
  const ssh = mounts.find((m) => m.type === "ssh");
  if (ssh && !env.some((e) => e.startsWith("SSH_AUTH_SOCK="))) env.push(`SSH_AUTH_SOCK=${ssh.dest}`);

  const progress = prefixCommand(d, displayLine(ctx, d, name, maskedEnv ?? d.env));
  const vertex = createVertex(
    {
      kind: "exec",
      meta: { args, env, cwd: d.cwd, user: d.user, ...(ctx.opts.extraHosts?.length ? { extraHosts: ctx.opts.extraHosts } : {}) },
      network: ins.network === "default" ? (ctx.opts.network ?? "default") : ins.network,
      security: ins.security,
      mounts,
      ...proxyEnv,
    },
    inputs,
    { name: progress, description: { "com.docker.dockerfile.v1.command": ins.original }, ...vertexSource(ctx, ins.source) },
  );
  d.root = { vertex, output: 0 };
  commitToHistory(d.image, `RUN ${runCommandString(args, d)}`, true, true);
}
