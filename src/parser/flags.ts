/**
 * Instruction flags (`--name[=value]`) parsed with BuildKit's rules (instructions/bflag.go): flag names are
 * case-sensitive; booleans take no value or `=true`/`=false`; string flags need `=value` and may appear once;
 * list flags (`--mount`, `--exclude`) repeat; a bare `--` ends the flags. Values are kept raw (unexpanded).
 */
import { suggest } from "../util/suggest.js";
import { InstructionError, didYouMean } from "./instructions-errors.js";

/** How a flag is typed: a boolean switch, a single string, or a repeatable string list. */
export type FlagKind = "bool" | "string" | "strings";

/** The flags an instruction accepts, by name (without `--`). */
export type FlagSpec = Readonly<Record<string, FlagKind>>;

type FlagValue<K extends FlagKind> = K extends "bool" ? boolean : K extends "string" ? string : readonly string[];

/** Parsed values; a flag that was not given is `undefined`. */
export type FlagValues<S extends FlagSpec> = { readonly [N in keyof S]?: FlagValue<S[N]> };

export interface ParsedFlags<S extends FlagSpec> {
  readonly values: FlagValues<S>;
  /** The names given, in order of first use. */
  readonly used: readonly string[];
}

/**
 * Parse `raw` flags (as the AST keeps them: `--chown=1:1`, `--link`) against `spec`.
 * @param instruction upper-case keyword, for messages
 * @throws InstructionError `TSB_INSTR_UNKNOWN_FLAG` (with did-you-mean) or `TSB_INSTR_FLAG_VALUE`
 */
export function parseFlags<S extends FlagSpec>(raw: readonly string[], spec: S, instruction: string): ParsedFlags<S> {
  // Most instructions have no flags: one shared, frozen result (hot path for long Dockerfiles).
  if (raw.length === 0) return NO_FLAGS as ParsedFlags<S>;
  const values: Record<string, boolean | string | string[]> = {};
  const used: string[] = [];
  const valueError = (msg: string): InstructionError => new InstructionError("TSB_INSTR_FLAG_VALUE", `${instruction}: ${msg}`);
  for (const a of raw) {
    if (a === "--") break;
    if (!a.startsWith("--")) throw valueError(`flag should start with --: ${a}`);
    const eq = a.indexOf("=");
    const flagName = eq < 0 ? a : a.slice(0, eq);
    const hasValue = eq >= 0;
    const value = hasValue ? a.slice(eq + 1) : "";
    const name = flagName.slice(2);
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (kind === undefined) {
      const known = Object.keys(spec);
      const msg = known.length === 0 ? `${instruction} takes no flags, got ${flagName}` : `unknown flag for ${instruction}: ${flagName}`;
      const hint = known.length === 0 ? `remove ${flagName}` : `${instruction} accepts ${known.map((k) => `--${k}`).join(", ")}`;
      throw new InstructionError("TSB_INSTR_UNKNOWN_FLAG", didYouMean(msg, suggestFlag(name, known)), { hint });
    }
    if (used.includes(name) && kind !== "strings") throw valueError(`duplicate flag specified: ${flagName}`);
    if (!used.includes(name)) used.push(name);
    switch (kind) {
      case "bool": {
        if (hasValue && value === "") throw valueError(`missing a value on flag: ${flagName}`);
        const v = value.toLowerCase();
        if (v !== "" && v !== "true" && v !== "false") throw valueError(`expecting boolean value for flag ${flagName}, not: ${value}`);
        values[name] = v !== "false";
        break;
      }
      case "string":
        if (!hasValue) throw valueError(`missing a value on flag: ${flagName}`);
        values[name] = value;
        break;
      case "strings": {
        if (!hasValue) throw valueError(`missing a value on flag: ${flagName}`);
        const list = (values[name] as string[] | undefined) ?? [];
        list.push(value);
        values[name] = list;
        break;
      }
    }
  }
  return { values: values as FlagValues<S>, used };
}

const NO_FLAGS: ParsedFlags<FlagSpec> = Object.freeze({ values: Object.freeze({}), used: Object.freeze([]) as readonly string[] });

function suggestFlag(name: string, known: readonly string[]): string | undefined {
  const s = suggest(name, known);
  return s === undefined ? undefined : `--${s}`;
}
