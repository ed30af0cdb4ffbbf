/**
 * AST node → typed instruction, one function per instruction, mirroring BuildKit's instructions/parse.go
 * (argument counts, flags, key/value rules). Words stay raw. Errors are thrown without a location; the
 * caller (to-instructions.ts) attaches the instruction's range.
 */
import type { InstructionNode } from "./ast.js";
import type {
  ArgDef, ArgInstruction, CmdInstruction, CommandLine, EntrypointInstruction, EnvInstruction, ExposeInstruction,
  InlineFile, InstructionBase, KeyValue, LabelInstruction, MaintainerInstruction, OnbuildInstruction, ShellInstruction,
  StopSignalInstruction, UserInstruction, VolumeInstruction, WorkdirInstruction, Instruction,
} from "./instructions.js";
import { parseFlags } from "./flags.js";
import { InstructionError } from "./instructions-errors.js";

/** What every per-instruction parser gets. */
export interface ParseRequest {
  readonly node: InstructionNode;
  /** Upper-case keyword, for messages. */
  readonly name: string;
  readonly base: InstructionBase;
}

const argError = (msg: string, hint?: string): InstructionError =>
  new InstructionError("TSB_INSTR_ARGUMENTS", msg, hint === undefined ? {} : { hint });

export function atLeastOne(req: ParseRequest): void {
  if (req.node.args.length === 0) throw argError(`${req.name} requires at least one argument`);
}

export function exactlyOne(req: ParseRequest, what: string): string {
  const { args } = req.node;
  if (args.length !== 1) {
    throw argError(`${req.name} requires exactly one argument, got ${args.length}`, `write ${req.name} <${what}> (quote it if it contains spaces)`);
  }
  return args[0]!;
}

/** Reject any flag (BuildKit: `req.flags.Parse()` with no flags declared). */
export function noFlags(req: ParseRequest): void {
  parseFlags(req.node.flags, {}, req.name);
}

/** BuildKit handleJSONArgs: exec form keeps the array, shell form joins the words into one command string. */
export function commandLine(node: InstructionNode): CommandLine {
  if (node.json) return { json: true, args: [...node.args] };
  return { json: false, args: node.args.length === 0 ? [] : [node.args.join(" ")] };
}

export function inlineFiles(node: InstructionNode): InlineFile[] {
  return node.heredocs.map((h) => ({ name: h.name, data: h.content, chomp: h.chomp, expand: h.expand, fileDescriptor: h.fileDescriptor }));
}

function keyValues(req: ParseRequest): KeyValue[] {
  const { args } = req.node;
  if (args.length === 0) throw argError(`${req.name} requires at least one argument`, `write ${req.name} NAME=value`);
  if (args.length % 2 !== 0) {
    const key = args[args.length - 1]!;
    throw new InstructionError("TSB_INSTR_KEY_VALUE", `${req.name} ${key} has no value`, { hint: `write ${req.name} ${key}=value (use ${key}="" for an empty value)` });
  }
  const out: KeyValue[] = [];
  for (let i = 0; i < args.length; i += 2) {
    const key = args[i]!;
    if (key === "") throw new InstructionError("TSB_INSTR_KEY_VALUE", `${req.name} names can not be blank`);
    out.push({ key, value: args[i + 1]! });
  }
  return out;
}

export function parseEnv(req: ParseRequest): EnvInstruction {
  noFlags(req);
  return { ...req.base, kind: "env", env: keyValues(req), legacyKeyValue: req.node.legacyKeyValue === true };
}

export function parseLabel(req: ParseRequest): LabelInstruction {
  noFlags(req);
  return { ...req.base, kind: "label", labels: keyValues(req), legacyKeyValue: req.node.legacyKeyValue === true };
}

export function parseMaintainer(req: ParseRequest): MaintainerInstruction {
  const maintainer = exactlyOne(req, "name");
  noFlags(req);
  return { ...req.base, kind: "maintainer", maintainer };
}

export function parseWorkdir(req: ParseRequest): WorkdirInstruction {
  const path = exactlyOne(req, "path");
  noFlags(req);
  return { ...req.base, kind: "workdir", path };
}

export function parseUser(req: ParseRequest): UserInstruction {
  const user = exactlyOne(req, "user[:group]");
  noFlags(req);
  return { ...req.base, kind: "user", user };
}

export function parseStopSignal(req: ParseRequest): StopSignalInstruction {
  const signal = exactlyOne(req, "signal");
  noFlags(req);
  return { ...req.base, kind: "stopsignal", signal };
}

export function parseExpose(req: ParseRequest): ExposeInstruction {
  atLeastOne(req);
  noFlags(req);
  // BuildKit sorts the raw words (Go's byte-wise sort; the same as UTF-16 order for ASCII port specs).
  const ports = [...req.node.args].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { ...req.base, kind: "expose", ports };
}

export function parseVolume(req: ParseRequest): VolumeInstruction {
  atLeastOne(req);
  noFlags(req);
  const volumes = req.node.args.map((v) => v.trim());
  if (volumes.some((v) => v === "")) throw argError("VOLUME specified can not be an empty string", "name the mount point, e.g. VOLUME /data");
  return { ...req.base, kind: "volume", volumes };
}

export function parseArg(req: ParseRequest): ArgInstruction {
  atLeastOne(req);
  noFlags(req);
  const args: ArgDef[] = req.node.args.map((arg) => {
    const eq = arg.indexOf("=");
    if (eq < 0) return { key: arg };
    if (eq === 0) throw new InstructionError("TSB_INSTR_KEY_VALUE", "ARG names can not be blank", { hint: "write ARG NAME or ARG NAME=default" });
    return { key: arg.slice(0, eq), value: arg.slice(eq + 1) };
  });
  return { ...req.base, kind: "arg", args };
}

export function parseCmd(req: ParseRequest): CmdInstruction {
  noFlags(req);
  return { ...req.base, kind: "cmd", command: commandLine(req.node), files: inlineFiles(req.node) };
}

export function parseEntrypoint(req: ParseRequest): EntrypointInstruction {
  noFlags(req);
  return { ...req.base, kind: "entrypoint", command: commandLine(req.node), files: inlineFiles(req.node) };
}

export function parseShell(req: ParseRequest): ShellInstruction {
  noFlags(req);
  const { args, json } = req.node;
  if (args.length === 0) throw argError("SHELL requires at least one argument", 'write SHELL ["/bin/sh", "-c"]');
  if (!json) throw new InstructionError("TSB_INSTR_NOT_JSON", "SHELL requires the arguments to be in JSON form");
  return { ...req.base, kind: "shell", shell: [...args] };
}

const ONBUILD_RE = /^\s*ONBUILD\s*/i;

/**
 * ONBUILD: the trigger must be an ordinary instruction. `parseNested` turns the nested node into a typed
 * instruction (validated now, although BuildKit checks the trigger only when a child image uses it).
 */
export function parseOnbuild(req: ParseRequest, parseNested: (node: InstructionNode) => Instruction): OnbuildInstruction {
  const { node } = req;
  const nested = node.nested;
  const trigger = (nested?.keyword ?? node.args[0] ?? "").trim().toUpperCase();
  if (trigger === "") throw argError("ONBUILD requires at least one argument", "write ONBUILD <INSTRUCTION> ..., e.g. ONBUILD COPY . /src");
  noFlags(req);
  if (trigger === "ONBUILD") throw new InstructionError("TSB_INSTR_ONBUILD", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (trigger === "MAINTAINER" || trigger === "FROM") throw new InstructionError("TSB_INSTR_ONBUILD", `${trigger} isn't allowed as an ONBUILD trigger`);
  if (nested === undefined) throw argError("ONBUILD requires an instruction to run in the child build");
  // The parser may hang the trigger's heredocs on the ONBUILD node (as BuildKit does) or on the nested node.
  const heredocs = node.heredocs.length > 0 ? node.heredocs : nested.heredocs;
  let expression = node.original.replace(ONBUILD_RE, "");
  for (const h of heredocs) expression += `\n${h.content}${h.name}`;
  return { ...req.base, kind: "onbuild", expression, trigger: parseNested({ ...nested, heredocs }) };
}
