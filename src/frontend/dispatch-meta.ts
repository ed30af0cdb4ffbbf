/**
 * Metadata instructions → image config + history (BuildKit dispatchEnv, dispatchCmd, …), WORKDIR and ARG.
 * History `created_by` strings reproduce Go's `%q`/`%v` formatting as BuildKit writes them.
 */
import type { SourceRange } from "../errors.js";
import { createVertex } from "../graph/index.js";
import { expandWordWithMatches, type Instruction, type KeyValue } from "../parser/index.js";
import { FrontendError } from "./errors.js";
import type { Linter } from "./lint/linter.js";
import { ExposeProtoCasing, JSONArgsRecommended, MultipleInstructionsDisallowed, SecretsUsedInArgOrEnv, WorkdirRelativePath } from "./lint/rules.js";
import { type DispatchContext, displayLine, expandFor, normalizeWorkdir, prefixCommand, vertexSource } from "./dispatch-common.js";
import { addEnv, commitToHistory, withShell, type DispatchState } from "./stage-state.js";

/** Go's strconv.Quote for the common cases. */
export function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u00([0-9a-f]{2})/g, (_m, h: string) => (h === "07" ? "\\a" : h === "0b" ? "\\v" : `\\x${h}`));
}
const goQuoteList = (a: readonly string[]): string => `[${a.map(goQuote).join(" ")}]`;

const RUNE_ESCAPES: Readonly<Record<number, string>> = { 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 39: "\\'", 92: "\\\\" };

/** Go's `%q` of an integer: a quoted rune literal (`'\x00'`, `'A'`, `'\n'`), as strconv.QuoteRune writes it. */
export function goQuoteRune(n: number): string {
  const r = n < 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff) ? 0xfffd : n;
  const esc = RUNE_ESCAPES[r];
  if (esc !== undefined) return `'${esc}'`;
  const c = String.fromCodePoint(r);
  if (r === 0x20 || (r > 0x20 && /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(c))) return `'${c}'`;
  const hex = r.toString(16);
  if (r < 0x80) return `'\\x${hex.padStart(2, "0")}'`;
  return r < 0x10000 ? `'\\u${hex.padStart(4, "0")}'` : `'\\U${hex.padStart(8, "0")}'`;
}

/** Go's `%v` of a `map[nat.Port]struct{}`: `map[443/udp:{} 80/tcp:{}]`, keys deduplicated and sorted. */
export function goPortMap(ports: readonly string[]): string {
  const keys = [...new Set(ports)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `map[${keys.map((k) => `${k}:{}`).join(" ")}]`;
}
const goList = (a: readonly string[]): string => `[${a.join(" ")}]`;

/** Go's time.Duration.String() for nanoseconds. */
export function goDuration(ns: number): string {
  if (ns === 0) return "0s";
  const neg = ns < 0;
  let n = Math.abs(ns);
  let out: string;
  if (n < 1e3) out = `${n}ns`;
  else if (n < 1e6) out = `${trim(n / 1e3)}µs`;
  else if (n < 1e9) out = `${trim(n / 1e6)}ms`;
  else {
    const h = Math.floor(n / 3600e9);
    n -= h * 3600e9;
    const m = Math.floor(n / 60e9);
    n -= m * 60e9;
    const s = `${trim(n / 1e9)}s`;
    out = h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
  }
  return neg ? `-${out}` : out;
  function trim(x: number): string {
    return x.toFixed(9).replace(/\.?0+$/, "");
  }
}

const SECRET_DENY = /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const SECRET_ALLOW = /(?:_|^)(?:public|file|version)(?:_|$)/i;

function checkSecretKey(lint: Linter, ranges: readonly SourceRange[], instruction: "ARG" | "ENV", key: string): void {
  if (SECRET_DENY.test(key) && !SECRET_ALLOW.test(key)) lint.run(SecretsUsedInArgOrEnv, ranges, instruction, key);
}

function usedOnce(d: DispatchState, which: "cmd" | "entrypoint" | "healthcheck", ranges: readonly SourceRange[], lint: Linter, name: string): void {
  const prev = d.used[which];
  if (prev) lint.run(MultipleInstructionsDisallowed, prev, name);
  d.used[which] = ranges;
}

const SIGNALS = "ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT SEGV STKFLT STOP SYS TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ".split(" ");
/** moby's ParseSignal (20.10): any non-zero integer (strconv.Atoi), or a name of its Linux SignalMap. */
function checkSignal(s: string): void {
  const name = s.toUpperCase().replace(/^SIG/, "");
  if (/^[+-]?[0-9]+$/.test(s) ? Number(s) !== 0 : SIGNALS.includes(name) || /^RTMIN(\+([1-9]|1[0-5]))?$|^RTMAX(-([1-9]|1[0-4]))?$/.test(name)) return;
  throw new FrontendError("TSB_FRONTEND_BAD_SIGNAL", `Invalid signal: ${s}`, { hint: "use a signal name such as SIGTERM or a number" });
}

function parsePorts(ports: readonly string[], lint: Linter, ranges: readonly SourceRange[]): string[] {
  const out: string[] = [];
  for (const raw of ports) {
    let p = raw;
    let proto = "tcp";
    const slash = p.lastIndexOf("/");
    if (slash >= 0) {
      proto = p.slice(slash + 1);
      p = p.slice(0, slash);
      if (proto !== proto.toLowerCase()) lint.run(ExposeProtoCasing, ranges, raw);
      proto = proto.toLowerCase();
    }
    const colon = p.lastIndexOf(":");
    if (colon >= 0) p = p.slice(colon + 1);
    const m = /^(\d+)(?:-(\d+))?$/.exec(p);
    if (!m) throw new FrontendError("TSB_FRONTEND_BAD_PORT", `invalid containerPort: ${p}`, { hint: "EXPOSE takes port[/tcp|udp|sctp] or a range like 8000-8010" });
    const start = Number(m[1]);
    const end = m[2] !== undefined ? Number(m[2]) : start;
    if (end < start || end > 65535) throw new FrontendError("TSB_FRONTEND_BAD_PORT", `invalid range specified for container port: ${p}`);
    for (let i = start; i <= end; i++) out.push(`${i}/${proto}`);
  }
  return out;
}

/** WORKDIR (also used with `commit=false` to apply a base image's WorkingDir). */
export function dispatchWorkdir(ctx: DispatchContext, d: DispatchState, path: string, commit: boolean, lint?: Linter, ins?: Instruction): void {
  if (commit && lint && ins) {
    if (!d.workdirSet && !path.startsWith("/")) lint.run(WorkdirRelativePath, ins.source, path);
    d.workdirSet = true;
  }
  // Docker 20.10 keeps an absolute WORKDIR as written (`/a/./b/` in WorkingDir and history) and cleans only a
  // relative one joined to the current dir; steps run in the cleaned path.
  const clean = normalizeWorkdir(d.image.workingDir ?? "", path);
  const wd = path.startsWith("/") ? path : clean;
  d.image.workingDir = wd;
  d.cwd = clean;
  if (!commit || !ins) return;
  let withLayer = false;
  if (clean !== "/") {
    const inputs = d.root === null ? [] : [d.root];
    const vertex = createVertex(
      { kind: "file", base: d.root === null ? null : 0, actions: [{ action: "mkdir", path: clean, mode: 0o755, makeParents: true, ...(d.image.user ? { chown: { user: d.image.user } } : {}) }] },
      inputs,
      { name: prefixCommand(d, displayLine(ctx, d, ins.original)), description: { "com.docker.dockerfile.v1.command": ins.original }, ...vertexSource(ctx, ins.source) },
    );
    d.root = { vertex, output: 0 };
    withLayer = true;
  }
  commitToHistory(d.image, `WORKDIR ${wd}`, withLayer);
}

function expandPairs(ctx: DispatchContext, d: DispatchState, lint: Linter, ins: Instruction, pairs: readonly KeyValue[]): KeyValue[] {
  return pairs.map((p) => ({ key: expandFor(ctx, d, lint, ins.source, p.key), value: expandFor(ctx, d, lint, ins.source, p.value) }));
}

/** Every instruction except RUN, COPY and ADD. */
export function dispatchMeta(ctx: DispatchContext, d: DispatchState, ins: Instruction, lint: Linter): void {
  const img = d.image;
  const x = (w: string): string => expandFor(ctx, d, lint, ins.source, w);
  switch (ins.kind) {
    case "env": {
      let msg = "ENV";
      for (const e of expandPairs(ctx, d, lint, ins, ins.env)) {
        checkSecretKey(lint, ins.source, "ENV", e.key);
        msg += ` ${e.key}=${e.value}`;
        d.env.delete(e.key);
        d.env.set(e.key, e.value);
        addEnv(img.env, e.key, e.value);
      }
      return commitToHistory(img, msg, false);
    }
    case "label": {
      let msg = "LABEL";
      img.labels ??= {};
      for (const l of expandPairs(ctx, d, lint, ins, ins.labels)) {
        img.labels[l.key] = l.value;
        msg += ` ${l.key}=${l.value}`;
      }
      return commitToHistory(img, msg, false);
    }
    case "maintainer":
      img.author = ins.maintainer;
      return commitToHistory(img, `MAINTAINER ${ins.maintainer}`, false);
    case "cmd":
    case "entrypoint": {
      const NAME = ins.kind.toUpperCase();
      usedOnce(d, ins.kind, ins.source, lint, NAME);
      let args = [...ins.command.args];
      if (!ins.command.json) {
        if (!img.shell || img.shell.length === 0) lint.run(JSONArgsRecommended, ins.source, NAME);
        args = withShell(img, args);
      }
      if (ins.kind === "cmd") {
        img.cmd = args;
        img.argsEscaped = true;
      } else {
        img.entrypoint = args;
        if (!d.used.cmd) img.cmd = null;
      }
      return commitToHistory(img, `${NAME} ${goQuoteList(args)}`, false);
    }
    case "healthcheck": {
      usedOnce(d, "healthcheck", ins.source, lint, "HEALTHCHECK");
      const h = ins.health;
      img.healthcheck = {
        Test: [...h.test],
        ...(h.interval ? { Interval: h.interval } : {}),
        ...(h.timeout ? { Timeout: h.timeout } : {}),
        ...(h.startPeriod ? { StartPeriod: h.startPeriod } : {}),
        ...(h.startInterval ? { StartInterval: h.startInterval } : {}),
        ...(h.retries ? { Retries: h.retries } : {}),
      };
      // Docker 20.10's BuildKit writes `fmt.Sprintf("HEALTHCHECK %q", *HealthConfig)` (no StartInterval field then).
      const text = `&{${goQuoteList(h.test)} ${goQuote(goDuration(h.interval))} ${goQuote(goDuration(h.timeout))} ${goQuote(goDuration(h.startPeriod))} ${goQuoteRune(h.retries)}}`;
      return commitToHistory(img, `HEALTHCHECK ${text}`, false);
    }
    case "expose": {
      const words: string[] = [];
      for (const p of ins.ports) words.push(...x(p).split(/\s+/).filter((w) => w !== ""));
      const ports = parsePorts(words, lint, ins.source);
      img.exposedPorts ??= {};
      for (const p of ports) img.exposedPorts[p] = {};
      return commitToHistory(img, `EXPOSE ${goPortMap(ports)}`, false);
    }
    case "user": {
      const user = x(ins.user);
      d.user = user;
      img.user = user;
      return commitToHistory(img, `USER ${user}`, false);
    }
    case "volume": {
      const vols = ins.volumes.map(x);
      img.volumes ??= {};
      for (const v of vols) {
        if (v === "") throw new FrontendError("TSB_FRONTEND_BAD_VOLUME", "VOLUME specified can not be an empty string");
        img.volumes[v] = {};
      }
      return commitToHistory(img, `VOLUME ${goList(vols)}`, false);
    }
    case "stopsignal": {
      const sig = x(ins.signal);
      checkSignal(sig);
      img.stopSignal = sig;
      return commitToHistory(img, `STOPSIGNAL ${sig}`, false);
    }
    case "shell":
      img.shell = [...ins.shell];
      return commitToHistory(img, `SHELL ${goList(ins.shell)}`, false);
    case "workdir":
      return dispatchWorkdir(ctx, d, x(ins.path), true, lint, ins);
    case "onbuild":
      img.onBuild = [...(img.onBuild ?? []), ins.expression];
      return;
    case "arg":
      return dispatchArg(ctx, d, ins, lint);
    case "run":
    case "copy":
    case "add":
      throw new TypeError(`dispatchMeta called with ${ins.kind}`);
  }
}

function dispatchArg(ctx: DispatchContext, d: DispatchState, ins: Extract<Instruction, { kind: "arg" }>, lint: Linter): void {
  const commits: string[] = [];
  for (const a of ins.args) {
    checkSecretKey(lint, ins.source, "ARG", a.key);
    const hasValue = Object.hasOwn(ctx.buildArgs, a.key);
    // History shows the declaration as written (default expanded), never a --build-arg or inherited global value.
    // (An overridden default is expanded for the history only, without lint findings.)
    const declared =
      a.value === undefined ? undefined
      : hasValue ? expandWordWithMatches(a.value, d.env, { escape: ctx.escape }).result
      : expandFor(ctx, d, lint, ins.source, a.value);
    let value = declared;
    if (hasValue) value = ctx.buildArgs[a.key];
    else if (value === undefined && ctx.globalArgs.has(a.key)) value = ctx.globalArgs.get(a.key);
    if (value !== undefined) {
      d.env.delete(a.key);
      d.env.set(a.key, value);
    }
    // Every declaration is kept, a redeclared name too: Docker's `RUN |n …` history lists each one.
    d.buildArgs.push(value === undefined ? { key: a.key } : { key: a.key, value });
    commits.push(declared === undefined ? a.key : `${a.key}=${declared}`);
  }
  if (commits.length > 0) commitToHistory(d.image, `ARG ${commits.join(" ")}`, false);
}
