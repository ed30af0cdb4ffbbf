/**
 * Build checks that need only the parsed text (BuildKit instructions/parse.go and dockerfile2llb/validations.go):
 * casing, stage names, MAINTAINER, legacy ENV/LABEL form, parser warnings, base names from default ARGs.
 */
import type { Ast, InstructionNode } from "../../parser/index.js";
import { parseReference } from "../../image/index.js";
import { expandWordWithMatches } from "../../parser/index.js";
import type { Linter } from "./linter.js";
import {
  ConsistentInstructionCasing,
  DuplicateStageName,
  FromAsCasing,
  InvalidDefaultArgInFrom,
  LegacyKeyValueFormat,
  MaintainerDeprecated,
  NoEmptyContinuation,
  ReservedStageName,
  StageNameCasing,
} from "./rules.js";

const RESERVED = new Set(["context", "scratch"]);
const selfConsistent = (s: string): boolean => s === s.toLowerCase() || s === s.toUpperCase();

function argDefault(word: string): [string, string | undefined] {
  const eq = word.indexOf("=");
  return eq < 0 ? [word, undefined] : [word.slice(0, eq), word.slice(eq + 1)];
}

export function runStaticChecks(ast: Ast, lint: Linter, platformArgs: ReadonlyMap<string, string>): void {
  for (const w of ast.warnings) if (w.rule === NoEmptyContinuation.name) lint.run(NoEmptyContinuation, [w.range]);

  const nodes = ast.nodes;
  let lower = 0;
  let upper = 0;
  for (const n of nodes) {
    if (!selfConsistent(n.keywordRaw)) continue;
    if (n.keywordRaw === n.keywordRaw.toLowerCase()) lower++;
    else upper++;
  }
  const majorityLower = lower > upper;
  const stageNames = new Set<string>();
  const metaArgs = new Map(platformArgs);
  let seenFrom = false;
  for (const n of nodes) {
    const l = lint.withComments(n.comments);
    const kw = n.keywordRaw;
    if (majorityLower && kw.toLowerCase() !== kw) l.run(ConsistentInstructionCasing, [n.range], kw, "lowercase");
    else if (!majorityLower && kw.toUpperCase() !== kw) l.run(ConsistentInstructionCasing, [n.range], kw, "uppercase");
    switch (n.keyword) {
      case "from":
        seenFrom = true;
        checkFrom(n, l, stageNames, metaArgs);
        break;
      case "maintainer":
        l.run(MaintainerDeprecated, [n.range]);
        break;
      case "env":
      case "label":
        if (n.legacyKeyValue) l.run(LegacyKeyValueFormat, [n.range], n.keyword.toUpperCase());
        break;
      case "arg":
        if (!seenFrom) {
          for (const a of n.args) {
            const [k, v] = argDefault(a);
            if (v !== undefined) metaArgs.set(k, safeExpand(v, metaArgs));
          }
        }
        break;
      default:
        break;
    }
  }
}

function safeExpand(word: string, env: ReadonlyMap<string, string>): string {
  try {
    return expandWordWithMatches(word, env).result;
  } catch {
    return word;
  }
}

function checkFrom(n: InstructionNode, l: Linter, names: Set<string>, metaArgs: ReadonlyMap<string, string>): void {
  const [base, as, name] = n.args;
  if (n.args.length === 3 && name !== undefined && as !== undefined) {
    if (name !== name.toLowerCase()) l.run(StageNameCasing, [n.range], name);
    const fromLower = n.keywordRaw === n.keywordRaw.toLowerCase();
    const fromUpper = n.keywordRaw === n.keywordRaw.toUpperCase();
    if ((fromLower && as !== as.toLowerCase()) || (fromUpper && as !== as.toUpperCase())) l.run(FromAsCasing, [n.range], n.keywordRaw, as);
    const key = name.toLowerCase();
    if (RESERVED.has(key)) l.run(ReservedStageName, [n.range], key);
    if (names.has(key)) l.run(DuplicateStageName, [n.range], key);
    names.add(key);
  }
  if (base !== undefined && base.includes("$")) {
    const value = safeExpand(base, metaArgs);
    let ok = value !== "";
    if (ok && !names.has(value.toLowerCase()) && value !== "scratch") {
      try {
        parseReference(value);
      } catch {
        ok = false;
      }
    }
    if (!ok) l.run(InvalidDefaultArgInFrom, [n.range], base);
  }
}
