/**
 * Docker's path patterns (moby/patternmatcher semantics): used by .dockerignore and by COPY --exclude / include
 * selectors. A pattern matches a path when it matches the path or one of its parent directories; patterns are
 * evaluated in order and the last one that matches decides (`!` patterns re-include). Directory walks pass a
 * {@link MatchInfo} from parent to child, exactly like BuildKit's MatchesUsingParentResults.
 */
import { BadPatternError, cleanPath, validatePattern } from "./go-path.js";

/** One compiled pattern with where it came from (for "excluded by .dockerignore line N"). */
export interface PatternSource {
  /** The pattern as written (after cleaning), without the leading `!`. */
  readonly pattern: string;
  readonly exclusion: boolean;
  /** 1-based line in `file`, or 0 when the pattern did not come from a file. */
  readonly line: number;
  /** The ignore file name (e.g. `.dockerignore`), or a label such as `--exclude`. */
  readonly file: string;
}

type Matcher = (path: string) => boolean;

interface Compiled extends PatternSource {
  readonly match: Matcher;
}

/** Per-pattern "did this directory (or an ancestor) match" bits, passed from a directory to its children. */
export type MatchInfo = readonly boolean[];

/** The outcome of matching one path. `decider` is the last pattern that matched, if any. */
export interface MatchResult {
  readonly matched: boolean;
  readonly decider: PatternSource | undefined;
  readonly info: MatchInfo;
}

/** Characters escaped for the regexp because they are not path-pattern syntax (patternmatcher shouldEscape). */
const REGEXP_ESCAPE = new Set([".", "+", "(", ")", "|", "{", "}", "$"]);
/** `?`: one code point that is not `/` (a surrogate pair counts as one). */
const ONE_CHAR = "(?:[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]|[^/])";

/** Compile a cleaned pattern (no leading `!`) the way patternmatcher's `compile` does. */
function compile(pattern: string): Matcher {
  let re = "^";
  let type: "exact" | "prefix" | "suffix" | "regexp" = "exact";
  const chars = Array.from(pattern);
  let i = 0;
  for (let iter = 0; i < chars.length; iter++) {
    const ch = chars[i++]!;
    if (ch === "*") {
      if (chars[i] === "*") {
        i++;
        if (chars[i] === "/") i++;
        if (i >= chars.length) {
          if (type === "exact") type = "prefix";
          else {
            re += ".*";
            type = "regexp";
          }
        } else {
          re += "(.*/)?";
          type = "regexp";
        }
        if (iter === 0) type = "suffix";
      } else {
        re += "[^/]*";
        type = "regexp";
      }
    } else if (ch === "?") {
      re += ONE_CHAR;
      type = "regexp";
    } else if (REGEXP_ESCAPE.has(ch)) {
      re += `\\${ch}`;
    } else if (ch === "\\") {
      if (i < chars.length) {
        re += `\\${chars[i++]!}`;
        type = "regexp";
      } else re += "\\\\";
    } else if (ch === "[" || ch === "]") {
      re += ch;
      type = "regexp";
    } else {
      re += ch;
    }
  }
  switch (type) {
    case "exact":
      return (p) => p === pattern;
    case "prefix": {
      const prefix = pattern.slice(0, -2);
      return (p) => p.startsWith(prefix);
    }
    case "suffix": {
      const suffix = pattern.slice(2);
      return (p) => p.endsWith(suffix) || (suffix.startsWith("/") && p === suffix.slice(1));
    }
    case "regexp": {
      let rx: RegExp;
      try {
        rx = new RegExp(`${re}$`);
      } catch {
        throw new BadPatternError(pattern);
      }
      return (p) => rx.test(p);
    }
  }
}

/** A pattern with its origin, as read from an ignore file or given on the command line. */
export interface RawPattern {
  readonly text: string;
  readonly line: number;
  readonly file: string;
}

/**
 * An ordered list of Docker patterns. Construct with {@link PatternList.compile}; throws BadPatternError (with
 * the offending raw pattern in `.pattern`) for malformed input.
 */
export class PatternList {
  readonly #patterns: readonly Compiled[];
  /** True when any pattern is an exception (`!`). */
  readonly hasExceptions: boolean;
  /** True when every exception is a plain prefix, so an excluded directory can be skipped (fsutil's rule). */
  readonly #prefixOnlyExceptions: boolean;
  /** True when every inclusion is a plain prefix, so a non-included directory can be skipped. */
  readonly #prefixOnlyInclusions: boolean;

  private constructor(patterns: readonly Compiled[]) {
    this.#patterns = patterns;
    this.hasExceptions = patterns.some((p) => p.exclusion);
    const plain = (p: Compiled): boolean => !/[*[\]?^\\]/.test(withoutTrailingGlob(p.pattern));
    this.#prefixOnlyExceptions = patterns.filter((p) => p.exclusion).every(plain);
    this.#prefixOnlyInclusions = patterns.filter((p) => !p.exclusion).every(plain);
  }

  /** Compile patterns as patternmatcher.New does (trim, clean, leading `!` = exception). */
  static compile(raw: readonly RawPattern[]): PatternList {
    const out: Compiled[] = [];
    for (const r of raw) {
      let p = r.text.trim();
      if (p === "") continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p.startsWith("!")) {
        if (p.length === 1) throw new BadPatternError("!");
        exclusion = true;
        p = p.slice(1);
      }
      validatePattern(p);
      out.push({ pattern: p, exclusion, line: r.line, file: r.file, match: compile(p) });
    }
    return new PatternList(out);
  }

  get size(): number {
    return this.#patterns.length;
  }

  get patterns(): readonly PatternSource[] {
    return this.#patterns;
  }

  /**
   * Match a slash-separated relative path. With `parent` (the parent directory's info) only the path itself is
   * tested; without it, every ancestor is tested too (patternmatcher.MatchesUsingParentResults).
   */
  match(path: string, parent?: MatchInfo): MatchResult {
    const info: boolean[] = new Array<boolean>(this.#patterns.length).fill(false);
    let matched = false;
    let decider: PatternSource | undefined;
    const ancestors = parent === undefined ? ancestorsOf(path) : [];
    for (let i = 0; i < this.#patterns.length; i++) {
      const pat = this.#patterns[i]!;
      let m = parent?.[i] ?? false;
      if (!m) {
        // Skipping a pattern that cannot change the outcome is part of the semantics: its bit stays false.
        if (pat.exclusion !== matched) continue;
        m = pat.match(path);
        if (!m) m = ancestors.some((a) => pat.match(a));
      }
      info[i] = m;
      if (m) {
        matched = !pat.exclusion;
        decider = pat;
      }
    }
    return { matched, decider, info };
  }

  /**
   * For a directory that matched (excluded, for an ignore list): may its contents be skipped? True when no
   * exception could match anything inside it (fsutil's prefix-only shortcut; otherwise always descend).
   */
  canSkipMatchedDir(dir: string, docker2010 = false): boolean {
    if (!this.hasExceptions) return true;
    const dirSlash = `${dir}/`;
    // Docker 20.10's context walk (fsutil 2020) takes the shortcut for wildcard exceptions too: it descends only
    // when an exception, as written, starts with the directory ("!cache/**/keep.bin" never re-includes anything
    // under an excluded "cache/deep").
    if (docker2010) return !this.#patterns.some((p) => p.exclusion && `${p.pattern}/`.startsWith(dirSlash));
    if (!this.#prefixOnlyExceptions) return false;
    return !this.#patterns.some((p) => p.exclusion && `${withoutTrailingGlob(p.pattern)}/`.startsWith(dirSlash));
  }

  /** For an include list: may a directory that did not match be skipped (no inclusion could match inside)? */
  canSkipUnmatchedDir(dir: string): boolean {
    if (!this.#prefixOnlyInclusions) return false;
    const dirSlash = `${dir}/`;
    return !this.#patterns.some((p) => !p.exclusion && `${withoutTrailingGlob(p.pattern)}/`.startsWith(dirSlash));
  }
}

function withoutTrailingGlob(p: string): string {
  if (p.endsWith("/**")) p = p.slice(0, -3);
  if (p.endsWith("/*")) p = p.slice(0, -2);
  return p;
}

/** "a/b/c" → ["a", "a/b"]. */
function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  let i = path.indexOf("/");
  while (i !== -1) {
    out.push(path.slice(0, i));
    i = path.indexOf("/", i + 1);
  }
  return out;
}
