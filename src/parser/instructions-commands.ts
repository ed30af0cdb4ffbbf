/**
 * The flag-heavy instructions: RUN (mounts, network, security), COPY, ADD and HEALTHCHECK, as BuildKit's
 * instructions/parse.go and commands_run*.go parse them. Words and flag values stay raw.
 */
import type { AddInstruction, CopyInstruction, HealthcheckInstruction, NetworkMode, RunInstruction, SecurityMode, SourceContent, SourcesAndDest } from "./instructions.js";
import { parseFlags } from "./flags.js";
import { parseHeredoc } from "./heredoc.js";
import { InstructionError } from "./instructions-errors.js";
import { DurationError, parseGoDuration } from "./instructions-duration.js";
import { checkMountRaw } from "./mounts.js";
import { atLeastOne, commandLine, inlineFiles, type ParseRequest } from "./instructions-parse.js";

const NETWORKS: readonly NetworkMode[] = ["default", "none", "host"];
const SECURITY: readonly SecurityMode[] = ["sandbox", "insecure"];

export function parseRun(req: ParseRequest): RunInstruction {
  const { values, used } = parseFlags(req.node.flags, { mount: "strings", network: "string", security: "string" }, "RUN");
  const network = values.network ?? "default";
  if (!(NETWORKS as readonly string[]).includes(network)) {
    throw new InstructionError("TSB_INSTR_FLAG_VALUE", `RUN: invalid network mode "${network}"`, { hint: "use --network=default, none or host" });
  }
  const security = values.security ?? "sandbox";
  if (!(SECURITY as readonly string[]).includes(security)) {
    throw new InstructionError("TSB_INSTR_FLAG_VALUE", `RUN: security "${security}" is not valid`, { hint: "use --security=sandbox or insecure" });
  }
  const mounts = values.mount ?? [];
  for (const m of mounts) checkMountRaw(m);
  const command = commandLine(req.node);
  if (command.args.length === 0 && req.node.heredocs.length === 0) {
    throw new InstructionError("TSB_INSTR_ARGUMENTS", "RUN requires a command", { hint: 'write RUN <command> or RUN ["executable", "arg"]' });
  }
  return {
    ...req.base,
    kind: "run",
    command,
    files: inlineFiles(req.node),
    mounts,
    network: network as NetworkMode,
    security: security as SecurityMode,
    flagsUsed: used,
  };
}

/** The heredoc header of a word (`<<EOF`), or undefined (BuildKit MustParseHeredoc ignores malformed ones). */
function heredocOf(word: string): { name: string; expand: boolean } | undefined {
  try {
    return parseHeredoc(word);
  } catch {
    return undefined;
  }
}

function sourcesAndDest(req: ParseRequest): SourcesAndDest {
  const { args, heredocs } = req.node;
  if (args.length < 2) {
    throw new InstructionError("TSB_INSTR_ARGUMENTS", `${req.name} requires at least two arguments, but only ${args.length === 0 ? "none was" : "one was"} provided: the destination could not be determined`, {
      hint: `write ${req.name} <source>... <destination>`,
    });
  }
  const dest = args[args.length - 1]!;
  if (heredocOf(dest) !== undefined) throw new InstructionError("TSB_INSTR_HEREDOC", `${req.name} cannot accept a heredoc as a destination`);
  const sources: string[] = [];
  const contents: SourceContent[] = [];
  for (const src of args.slice(0, -1)) {
    const doc = heredocOf(src);
    if (doc === undefined) {
      sources.push(src);
      continue;
    }
    // Content arrives chomped from the parser (ast.ts: tabs already stripped for `<<-`).
    const body = heredocs.find((h) => h.name === doc.name);
    contents.push({ path: doc.name, data: body?.content ?? "", expand: doc.expand });
  }
  return { sources, contents, dest };
}

/** `{ key: v }` when the flag has a non-empty value (BuildKit treats `--chown=` as not given). */
const opt = <K extends string>(key: K, v: string | undefined): { [P in K]?: string } =>
  (v === undefined || v === "" ? {} : { [key]: v }) as { [P in K]?: string };

export function parseAdd(req: ParseRequest): AddInstruction {
  if (req.node.args.length < 2) sourcesAndDest(req);
  const { values } = parseFlags(
    req.node.flags,
    { chown: "string", chmod: "string", link: "bool", "keep-git-dir": "bool", checksum: "string", unpack: "bool", exclude: "strings" },
    "ADD",
  );
  const sd = sourcesAndDest(req);
  return {
    ...req.base,
    kind: "add",
    ...sd,
    ...opt("chown", values.chown),
    ...opt("chmod", values.chmod),
    ...opt("checksum", values.checksum),
    link: values.link ?? false,
    ...(values["keep-git-dir"] === undefined ? {} : { keepGitDir: values["keep-git-dir"] }),
    ...(values.unpack === undefined ? {} : { unpack: values.unpack }),
    exclude: values.exclude ?? [],
  };
}

export function parseCopy(req: ParseRequest): CopyInstruction {
  if (req.node.args.length < 2) sourcesAndDest(req);
  const { values } = parseFlags(
    req.node.flags,
    { chown: "string", from: "string", chmod: "string", link: "bool", exclude: "strings", parents: "bool" },
    "COPY",
  );
  const sd = sourcesAndDest(req);
  return {
    ...req.base,
    kind: "copy",
    ...sd,
    ...opt("from", values.from),
    ...opt("chown", values.chown),
    ...opt("chmod", values.chmod),
    link: values.link ?? false,
    parents: values.parents ?? false,
    exclude: values.exclude ?? [],
  };
}

const healthError = (msg: string, hint?: string): InstructionError =>
  new InstructionError("TSB_INSTR_HEALTHCHECK", msg, hint === undefined ? {} : { hint });

/** BuildKit parseOptInterval: "" and 0 mean "default"; otherwise at least 1ms. */
function interval(flag: string, value: string | undefined): number {
  if (value === undefined || value === "") return 0;
  let ns: number;
  try {
    ns = parseGoDuration(value);
  } catch (e) {
    if (e instanceof DurationError) throw healthError(`HEALTHCHECK --${flag}: ${e.message}`);
    throw e;
  }
  if (ns === 0) return 0;
  if (ns < 1_000_000) throw healthError(`HEALTHCHECK --${flag}=${value} is too short: it cannot be less than 1ms`, "use at least 1ms, or 0 for the default");
  return ns;
}

export function parseHealthcheck(req: ParseRequest): HealthcheckInstruction {
  atLeastOne(req);
  const { args, json } = req.node;
  const typ = args[0]!.toUpperCase();
  const rest = args.slice(1);
  if (typ === "NONE") {
    if (rest.length !== 0) throw healthError("HEALTHCHECK NONE takes no arguments", "write HEALTHCHECK NONE alone to disable the base image's healthcheck");
    const health = { test: ["NONE"], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
    return { ...req.base, kind: "healthcheck", health };
  }
  const { values } = parseFlags(
    req.node.flags,
    { interval: "string", timeout: "string", "start-period": "string", "start-interval": "string", retries: "string" },
    "HEALTHCHECK",
  );
  if (typ !== "CMD") throw healthError(`Unknown type "${typ}" in HEALTHCHECK (try CMD)`, "write HEALTHCHECK [flags] CMD <command>, or HEALTHCHECK NONE");
  const cmd = json ? rest : rest.length === 0 ? [] : [rest.join(" ")];
  if (cmd.length === 0) throw healthError("Missing command after HEALTHCHECK CMD", "write HEALTHCHECK CMD <command>");
  const test = [json ? "CMD" : "CMD-SHELL", ...cmd];
  let retries = 0;
  const r = values.retries;
  if (r !== undefined && r !== "") {
    const n = /^[+-]?\d+$/.test(r) ? Number(r) : NaN;
    if (!Number.isSafeInteger(n) || n > 2 ** 31 - 1 || n < -(2 ** 31)) throw healthError(`HEALTHCHECK --retries: invalid number "${r}"`);
    if (n < 0) throw healthError(`HEALTHCHECK --retries cannot be negative (${n})`);
    retries = n;
  }
  const health = {
    test,
    interval: interval("interval", values.interval),
    timeout: interval("timeout", values.timeout),
    startPeriod: interval("start-period", values["start-period"]),
    startInterval: interval("start-interval", values["start-interval"]),
    retries,
  };
  return { ...req.base, kind: "healthcheck", health };
}
