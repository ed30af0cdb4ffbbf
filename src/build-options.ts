/**
 * Parsing of the build flags a `docker buildx build` user types that are not the exporter's (`-o` is parsed by
 * src/exporter): `--secret`, `--ssh`, `--build-context`, `--label`, `--add-host`. Pure functions (`--ssh` stats the
 * paths it is given); errors are UsageErrors, except an agent socket that cannot be used (TSB_SSH_AGENT, exit 1).
 */
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { resolve } from "node:path";
import { TsbuildError, UsageError } from "./errors.js";
import type { ExtraHost } from "./graph/index.js";
import type { SecretSource, SshSource } from "./ops/index.js";
import type { Digest } from "./util/digest.js";

/** Split `k=v,k2=v2` (buildx CSV flag syntax, with "…" quoting of whole fields). */
export function parseCsvFields(value: string, flag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const field of splitCsv(value)) {
    const eq = field.indexOf("=");
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    if (!key) throw new UsageError(`invalid ${flag} value ${JSON.stringify(value)}: empty field name`);
    out.set(key, eq < 0 ? "" : field.slice(eq + 1));
  }
  return out;
}

function splitCsv(s: string): string[] {
  const fields: string[] = [];
  let cur = "";
  let quoted = false;
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    else if (ch === "," && !quoted) {
      fields.push(cur);
      cur = "";
    } else cur += ch;
  }
  fields.push(cur);
  return fields.filter((f) => f !== "");
}

/**
 * `--secret id=ID[,src=PATH|,env=VAR][,type=file|env]`, as buildx: without src/env, the id names an environment
 * variable when one is set, else a file. Values are read only when a RUN mounts the secret.
 */
export function parseSecret(value: string, env: NodeJS.ProcessEnv, cwd = process.cwd()): SecretSource {
  const f = parseCsvFields(value, "--secret");
  const id = f.get("id");
  if (!id) throw new UsageError(`invalid --secret ${JSON.stringify(value)}: id is required`, { hint: "use --secret id=NAME,src=PATH or id=NAME,env=VAR" });
  for (const k of f.keys()) {
    if (!["id", "src", "source", "env", "type", "required"].includes(k)) {
      throw new UsageError(`invalid --secret ${JSON.stringify(value)}: unknown field ${JSON.stringify(k)}`, { hint: "fields are id, src, env, type" });
    }
  }
  const type = f.get("type");
  if (type !== undefined && type !== "file" && type !== "env") {
    throw new UsageError(`invalid --secret ${JSON.stringify(value)}: type must be file or env`);
  }
  const src = f.get("src") ?? f.get("source");
  let envName = f.get("env");
  let path: string | undefined;
  if (type === "env") envName ??= src ?? id;
  else if (type === "file") path = src ?? id;
  else if (src !== undefined) path = src;
  else if (envName === undefined) {
    if (env[id] !== undefined) envName = id;
    else path = id;
  }
  if (envName !== undefined) {
    const name = envName;
    return {
      id,
      read: async () => {
        const v = env[name];
        if (v === undefined) throw new UsageError(`secret ${JSON.stringify(id)}: environment variable ${name} is not set`);
        return Buffer.from(v);
      },
    };
  }
  const file = resolve(cwd, path!);
  return {
    id,
    read: async () => {
      try {
        return await readFile(file);
      } catch (err) {
        throw new UsageError(`secret ${JSON.stringify(id)}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`, {
          hint: "check the src= path of --secret",
        });
      }
    },
  };
}

const SSH_USAGE = "use --ssh default (your agent, from $SSH_AUTH_SOCK) or --ssh ID=SOCKET";

/**
 * `--ssh default|ID[=SOCKET]` (repeatable), as buildx: without a path the agent is `$SSH_AUTH_SOCK`. Only agent
 * sockets are taken: a key file (which buildx loads into an in-memory agent) is refused with how to add it to an
 * agent. Messages name the path only as the user typed it (`$SSH_AUTH_SOCK` for the variable's value).
 */
export function parseSsh(values: readonly string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): SshSource[] {
  const out: SshSource[] = [];
  for (const value of values) {
    const eq = value.indexOf("=");
    const id = (eq < 0 ? value : value.slice(0, eq)).trim();
    if (!id || /[\s,]/.test(id)) throw new UsageError(`invalid --ssh ${JSON.stringify(value)}: missing or bad id`, { hint: SSH_USAGE });
    if (out.some((s) => s.id === id)) throw new UsageError(`--ssh ${JSON.stringify(id)} is given twice`, { hint: "give each ssh id once" });
    const paths = eq < 0 ? [] : value.slice(eq + 1).split(",").map((p) => p.trim()).filter(Boolean);
    if (eq >= 0 && paths.length === 0) throw new UsageError(`invalid --ssh ${JSON.stringify(value)}: no socket after '='`, { hint: SSH_USAGE });
    if (paths.length === 0) {
      const sock = env.SSH_AUTH_SOCK;
      if (!sock) {
        throw new SshAgentError(`--ssh ${id}: SSH_AUTH_SOCK is not set, so there is no ssh agent to forward`, {
          hint: "start an agent (eval $(ssh-agent); ssh-add) or give its socket: --ssh ID=SOCKET",
        });
      }
      out.push({ id, socket: agentSocket(resolve(cwd, sock), "$SSH_AUTH_SOCK", id) });
      continue;
    }
    const sockets = paths.map((p) => agentSocket(resolve(cwd, p), p, id));
    if (sockets.length > 1) throw new UsageError(`--ssh ${id}: only one agent socket per id`, { hint: "put every key in one agent, or use one id per agent" });
    out.push({ id, socket: sockets[0]! });
  }
  return out;
}

/** The agent socket at `path` (shown as `shown`), or an SshAgentError saying why it cannot be used. */
function agentSocket(path: string, shown: string, id: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new SshAgentError(`--ssh ${id}: cannot use ${shown} (${code === "ENOENT" ? "no such file" : code})`, {
      hint: shown === "$SSH_AUTH_SOCK" ? "the agent is gone: start one (eval $(ssh-agent); ssh-add)" : "give the path of a running ssh agent's socket",
    });
  }
  if (st.isSocket()) return path;
  if (st.isFile()) {
    throw new SshAgentError(`--ssh ${id}: ${shown} is a file, not an agent socket: tsbuild forwards ssh agents only, not key files`, {
      hint: `load the key into an agent (eval $(ssh-agent); ssh-add ${shown}) and pass --ssh ${id} (or --ssh ${id}=SOCKET)`,
    });
  }
  throw new SshAgentError(`--ssh ${id}: ${shown} is not an ssh agent socket`, { hint: "give the path of a running ssh agent's socket" });
}

/** An ssh agent that cannot be forwarded (`TSB_SSH_AGENT`; the CLI exits 1, as buildx does). */
export class SshAgentError extends TsbuildError {
  constructor(message: string, options: { readonly hint: string }) {
    super("TSB_SSH_AGENT", message, options);
    this.name = "SshAgentError";
  }
}

/**
 * A named context: `--build-context name=DIR` (local), `name=https://…` (one file), `name=docker-image://REF`,
 * `name=oci-layout://DIR[:TAG]` (a git URL is cloned by the CLI first and arrives here as a directory).
 */
export type NamedContext =
  | { readonly kind: "local"; readonly name: string; readonly dir: string }
  /** An http(s) URL (not a git repository): one file, as BuildKit's llb.HTTP, read with COPY --from or RUN --mount from. */
  | { readonly kind: "http"; readonly name: string; readonly url: string }
  | { readonly kind: "image"; readonly name: string; readonly ref: string }
  | { readonly kind: "oci-layout"; readonly name: string; readonly dir: string; readonly tag?: string; readonly digest?: Digest };

export function parseBuildContext(value: string, cwd = process.cwd()): NamedContext {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new UsageError(`invalid --build-context ${JSON.stringify(value)}`, { hint: "use --build-context NAME=DIR|docker-image://REF|oci-layout://DIR" });
  const name = value.slice(0, eq);
  const target = value.slice(eq + 1);
  if (target.startsWith("docker-image://")) {
    const ref = target.slice("docker-image://".length);
    if (!ref) throw new UsageError(`--build-context ${name}: docker-image:// needs an image reference`, { hint: "use docker-image://REF, e.g. docker-image://busybox:1.36" });
    return { kind: "image", name, ref };
  }
  if (target.startsWith("oci-layout://")) {
    const rest = target.slice("oci-layout://".length);
    const at = /^(.*)@(sha256:[a-f0-9]{64})$/.exec(rest);
    if (at) return { kind: "oci-layout", name, dir: resolve(cwd, at[1]!), digest: at[2] as Digest };
    if (/@/.test(rest.slice(rest.lastIndexOf("/") + 1))) {
      throw new UsageError(`--build-context ${name}: invalid digest in ${JSON.stringify(target)}`, { hint: "use oci-layout://DIR@sha256:<64 hex digits>" });
    }
    const m = /^(.*?)(?::([A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?$/.exec(rest)!;
    if (!m[1]) throw new UsageError(`--build-context ${name}: oci-layout:// needs a directory`, { hint: "use oci-layout://DIR[:TAG|@sha256:…]" });
    return { kind: "oci-layout", name, dir: resolve(cwd, m[1]), ...(m[2] ? { tag: m[2] } : {}) };
  }
  if (/^https?:\/\//i.test(target)) return { kind: "http", name, url: target };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    throw new UsageError(`--build-context ${name}: unsupported source ${JSON.stringify(target)}`, {
      hint: "use a directory, a git or http(s) URL, docker-image://REF or oci-layout://DIR",
    });
  }
  return { kind: "local", name, dir: resolve(cwd, target) };
}

/** `--label k=v` (repeatable). */
/**
 * `--add-host NAME:IP` (or `NAME=IP`, which lets an IPv6 address keep its colons), as `docker build`. `host-gateway`
 * is the host itself: RUN shares the host's network (or has none), so it is 127.0.0.1.
 */
export function parseExtraHost(value: string): ExtraHost {
  const eq = value.indexOf("=");
  const sep = eq > 0 ? eq : value.indexOf(":");
  const host = sep > 0 ? value.slice(0, sep) : "";
  let ip = sep > 0 ? value.slice(sep + 1) : "";
  if (ip.startsWith("[") && ip.endsWith("]")) ip = ip.slice(1, -1);
  if (ip === "host-gateway") ip = "127.0.0.1";
  if (!host || /[\s#]/.test(host) || isIP(ip) === 0) {
    throw new UsageError(`invalid --add-host ${JSON.stringify(value)}`, { hint: "use --add-host NAME:IP (e.g. db:10.0.0.5), or NAME=IP for an IPv6 address" });
  }
  return { host, ip };
}

export function parseLabels(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq <= 0) throw new UsageError(`invalid --label ${JSON.stringify(v)}`, { hint: "use --label KEY=value" });
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}
