import type { SourceRange } from "../../errors.js";
import { FrontendError } from "../errors.js";
import type { CheckConfig, LintFinding, LintRule } from "./types.js";

export const defaultCheckConfig: CheckConfig = Object.freeze({ skipAll: false, skip: [], error: false, experimentalAll: false, experimental: [] });

/**
 * Parse a check configuration as in `# check=skip=A,B;error=true;experimental=all` (BuildKit ParseLintOptions).
 * @throws FrontendError TSB_FRONTEND_BAD_CHECK on unknown keys or values.
 */
export function parseCheckConfig(value: string): CheckConfig {
  const s = value.trim();
  if (s === "") return defaultCheckConfig;
  let skipAll = false;
  let error = false;
  let experimentalAll = false;
  const skip: string[] = [];
  const experimental: string[] = [];
  const bad = (msg: string): never => {
    throw new FrontendError("TSB_FRONTEND_BAD_CHECK", `invalid check directive ${JSON.stringify(value)}: ${msg}`, {
      hint: "use # check=skip=Rule1,Rule2;error=true",
    });
  };
  for (const part of s.split(";", 3)) {
    const eq = part.indexOf("=");
    if (eq < 0) bad(`invalid check option ${JSON.stringify(part)}`);
    const k = part.slice(0, eq).trim().toLowerCase();
    const v = part.slice(eq + 1).trim();
    if (k === "skip") {
      for (const r of v.split(",").map((x) => x.trim()).filter((x) => x !== "")) {
        if (r.toLowerCase() === "all") skipAll = true;
        else skip.push(r);
      }
    } else if (k === "error") {
      if (!/^(true|false|1|0|t|f)$/i.test(v)) bad(`error must be true or false, got ${JSON.stringify(v)}`);
      error = /^(true|1|t)$/i.test(v);
    } else if (k === "experimental") {
      for (const r of v.split(",").map((x) => x.trim()).filter((x) => x !== "")) {
        if (r.toLowerCase() === "all") experimentalAll = true;
        else experimental.push(r);
      }
    } else {
      bad(`unknown key ${JSON.stringify(k)}`);
    }
  }
  return Object.freeze({ skipAll, skip, error, experimentalAll, experimental });
}

function mergeConfig(a: CheckConfig, b: CheckConfig): CheckConfig {
  return {
    skipAll: a.skipAll || b.skipAll,
    skip: [...a.skip, ...b.skip],
    error: a.error,
    experimentalAll: a.experimentalAll || b.experimentalAll,
    experimental: [...a.experimental, ...b.experimental],
  };
}

/** Runs rules against a configuration and hands findings to a sink (BuildKit's linter.Linter). */
export class Linter {
  readonly #config: CheckConfig;
  readonly #sink: (f: LintFinding) => void;

  constructor(config: CheckConfig, sink: (f: LintFinding) => void) {
    this.#config = config;
    this.#sink = sink;
  }

  get config(): CheckConfig {
    return this.#config;
  }

  /** A linter whose config also honours `check=` directives found in an instruction's comments. */
  withComments(comments: readonly string[]): Linter {
    for (const c of comments) {
      const m = /^\s*check\s*=\s*(\S*)/i.exec(c);
      if (!m) continue;
      try {
        return new Linter(mergeConfig(this.#config, parseCheckConfig(m[1] ?? "")), this.#sink);
      } catch {
        return this;
      }
    }
    return this;
  }

  run<A extends readonly unknown[]>(rule: LintRule<A>, ranges: readonly SourceRange[], ...args: A): void {
    const c = this.#config;
    if (rule.experimental) {
      if (!c.experimentalAll && !c.experimental.includes(rule.name)) return;
    } else if (c.skipAll || c.skip.includes(rule.name)) {
      return;
    }
    this.#sink({
      rule: rule.name,
      description: rule.description,
      url: rule.url,
      message: rule.format(...args),
      level: c.error ? "error" : "warning",
      ranges,
    });
  }
}
