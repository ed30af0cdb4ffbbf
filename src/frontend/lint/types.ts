/**
 * Build-check data types: a rule is data (name, description, URL, message formatter), as BuildKit's
 * linter/ruleset.go; a finding is one rule hit at one place.
 */
import type { SourceRange } from "../../errors.js";

/** A build-check rule. `format` builds the one-line message from rule-specific arguments. */
export interface LintRule<A extends readonly unknown[] = readonly string[]> {
  readonly name: string;
  readonly description: string;
  readonly url: string;
  /** Experimental rules only run when enabled by name (`# check=experimental=…`). */
  readonly experimental?: boolean;
  readonly format: (...args: A) => string;
}

export type LintLevel = "warning" | "error";

/** One finding: which rule, where, and the formatted message. */
export interface LintFinding {
  readonly rule: string;
  readonly description: string;
  readonly url: string;
  readonly message: string;
  /** `error` when the Dockerfile says `# check=error=true`. */
  readonly level: LintLevel;
  readonly ranges: readonly SourceRange[];
}

/** Parsed `# check=skip=A,B;error=true;experimental=C` directive (also the `--check` configuration). */
export interface CheckConfig {
  readonly skipAll: boolean;
  readonly skip: readonly string[];
  readonly error: boolean;
  readonly experimentalAll: boolean;
  readonly experimental: readonly string[];
}
