/**
 * AST → typed Dockerfile (BuildKit instructions.Parse): ARGs before the first FROM become meta args, each FROM
 * starts a stage, every other instruction joins the current stage. Stops at the first error, which carries the
 * instruction's source range. Pure: no expansion, no I/O.
 */
import { withLocation, type SourceLocation } from "../errors.js";
import { suggest } from "../util/suggest.js";
import type { Ast, InstructionNode } from "./ast.js";
import type { ArgInstruction, Dockerfile, Instruction, InstructionBase, Stage } from "./instructions.js";
import { parseFlags } from "./flags.js";
import { InstructionError, didYouMean } from "./instructions-errors.js";
import {
  parseArg, parseCmd, parseEntrypoint, parseEnv, parseExpose, parseLabel, parseMaintainer, parseOnbuild, parseShell,
  parseStopSignal, parseUser, parseVolume, parseWorkdir, type ParseRequest,
} from "./instructions-parse.js";
import { parseAdd, parseCopy, parseHealthcheck, parseRun } from "./instructions-commands.js";

/** Every instruction keyword BuildKit knows (upper-case), for did-you-mean. */
export const INSTRUCTION_NAMES: readonly string[] = [
  "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
  "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
];

/** BuildKit's validStageName, applied to the lower-cased name. */
const STAGE_NAME_RE = /^[a-z][a-z0-9_.-]*$/;

function baseOf(node: InstructionNode): InstructionBase {
  return { source: [node.range], original: node.original.trim(), keywordRaw: node.keywordRaw, comments: node.comments };
}

/** One non-FROM instruction node → typed instruction (errors without location). */
function toInstruction(node: InstructionNode): Instruction {
  const name = node.keyword.toUpperCase();
  const req: ParseRequest = { node, name, base: baseOf(node) };
  switch (node.keyword.toLowerCase()) {
    case "env": return parseEnv(req);
    case "maintainer": return parseMaintainer(req);
    case "label": return parseLabel(req);
    case "add": return parseAdd(req);
    case "copy": return parseCopy(req);
    case "onbuild": return parseOnbuild(req, toInstruction);
    case "workdir": return parseWorkdir(req);
    case "run": return parseRun(req);
    case "cmd": return parseCmd(req);
    case "healthcheck": return parseHealthcheck(req);
    case "entrypoint": return parseEntrypoint(req);
    case "expose": return parseExpose(req);
    case "user": return parseUser(req);
    case "volume": return parseVolume(req);
    case "stopsignal": return parseStopSignal(req);
    case "arg": return parseArg(req);
    case "shell": return parseShell(req);
    case "from":
      throw new InstructionError("TSB_INSTR_ONBUILD", "FROM isn't allowed as an ONBUILD trigger");
    default:
      throw new InstructionError("TSB_INSTR_UNKNOWN", didYouMean(`unknown instruction: ${node.keywordRaw}`, suggest(node.keyword, INSTRUCTION_NAMES)));
  }
}

/** FROM [--platform=p] base [AS name] → a stage without instructions yet. */
function toStage(node: InstructionNode, index: number): Stage {
  const { args } = node;
  let nameRaw: string | undefined;
  if (args.length === 3 && args[1]!.toLowerCase() === "as") {
    nameRaw = args[2]!;
    if (!STAGE_NAME_RE.test(nameRaw.toLowerCase())) {
      throw new InstructionError("TSB_INSTR_STAGE_NAME", `invalid name for build stage: "${nameRaw}", name can't start with a number or contain symbols`);
    }
  } else if (args.length !== 1) {
    throw new InstructionError("TSB_INSTR_ARGUMENTS", `FROM requires either one or three arguments, got ${args.length}`, { hint: "write FROM <image> or FROM <image> AS <name>" });
  }
  const { values } = parseFlags(node.flags, { platform: "string" }, "FROM");
  return {
    ...(nameRaw === undefined ? {} : { name: nameRaw.toLowerCase(), nameRaw }),
    baseName: args[0]!,
    ...(values.platform ? { platform: values.platform } : {}),
    index,
    instructions: [],
    source: [node.range],
    original: node.original.trim(),
    keywordRaw: node.keywordRaw,
    comments: node.comments,
  };
}

/**
 * Turn a parsed Dockerfile into stages of typed instructions.
 * @throws InstructionError (`TSB_INSTR_*`) located at the offending instruction
 */
export function toDockerfile(ast: Ast): Dockerfile {
  const metaArgs: ArgInstruction[] = [];
  const stages: { stage: Stage; instructions: Instruction[] }[] = [];
  const names = new Map<string, InstructionNode>();
  const locate = (node: InstructionNode): SourceLocation => ({ filename: ast.filename, ranges: [node.range], text: ast.text });

  for (const node of ast.nodes) {
    try {
      if (node.keyword.toLowerCase() === "from") {
        const stage = toStage(node, stages.length);
        if (stage.name !== undefined) {
          const prev = names.get(stage.name);
          if (prev !== undefined) {
            throw new InstructionError("TSB_INSTR_DUPLICATE_STAGE", `duplicate stage name "${stage.nameRaw}": already defined on line ${prev.startLine}`);
          }
          names.set(stage.name, node);
        }
        stages.push({ stage, instructions: [] });
        continue;
      }
      const ins = toInstruction(node);
      const current = stages[stages.length - 1];
      if (current === undefined) {
        if (ins.kind === "arg") {
          metaArgs.push(ins);
          continue;
        }
        throw new InstructionError("TSB_INSTR_NO_STAGE", `${node.keyword.toUpperCase()} before the first FROM: no build stage in current context`);
      }
      current.instructions.push(ins);
    } catch (e) {
      if (e instanceof InstructionError) throw withLocation(e, locate(node));
      throw e;
    }
  }
  if (stages.length === 0) {
    const last = ast.nodes[ast.nodes.length - 1];
    const err = new InstructionError("TSB_INSTR_NO_STAGE", "the Dockerfile contains no stages to build (no FROM instruction)");
    throw last === undefined ? err : withLocation(err, locate(last));
  }
  return { metaArgs, stages: stages.map(({ stage, instructions }) => ({ ...stage, instructions })), escape: ast.escape };
}
