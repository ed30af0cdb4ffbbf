/**
 * .dockerignore files: parse (moby/patternmatcher ignorefile.ReadAll, keeping line numbers), pick the active file
 * (`<Dockerfile>.dockerignore` next to the Dockerfile wins over `<context>/.dockerignore`, as in BuildKit), and
 * answer `isIgnored(path)` with the line that decided.
 */
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { BadPatternError, cleanPath } from "./go-path.js";
import { ContextPatternError, ContextReadError, describeFsError } from "./errors.js";
import { PatternList, type MatchInfo, type RawPattern } from "./patterns.js";

/** Why a path is (or is not) ignored. `file`/`line`/`pattern` name the deciding line, when one matched. */
export interface IgnoreVerdict {
  readonly ignored: boolean;
  readonly file?: string;
  readonly line?: number;
  /** The pattern as written in the file, with its `!` for an exception. */
  readonly pattern?: string;
}

/** Parse ignore-file text into raw patterns with 1-based line numbers (comments and blanks dropped). */
export function parseIgnoreFile(text: string, file: string): RawPattern[] {
  const out: RawPattern[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (i === 0 && line.startsWith("\uFEFF")) line = line.slice(1);
    // A comment is a line starting with `#` before trimming (so "  # x" is a pattern, as in Docker).
    if (line.startsWith("#")) continue;
    let p = line.trim();
    if (p === "") continue;
    const invert = p.startsWith("!");
    if (invert) p = p.slice(1).trim();
    if (p.length > 0) {
      p = cleanPath(p);
      if (p.length > 1 && p.startsWith("/")) p = p.slice(1);
    }
    out.push({ text: invert ? `!${p}` : p, line: i + 1, file });
  }
  return out;
}

/** Compile raw patterns, turning a syntax error into a ContextPatternError naming file and line. */
export function compilePatterns(raw: readonly RawPattern[], label: string): PatternList {
  for (let i = 0; i < raw.length; i++) {
    try {
      PatternList.compile([raw[i]!]);
    } catch (err) {
      const r = raw[i]!;
      if (err instanceof BadPatternError) throw new ContextPatternError(r.text, r.file || label, r.line, err);
      throw err;
    }
  }
  return PatternList.compile(raw);
}

const NOT_IGNORED: { readonly ignored: false; readonly info: MatchInfo } = Object.freeze({ ignored: false, info: Object.freeze([]) });

/** The active ignore rules of a context, with per-directory memo of match info for fast walks. */
export class IgnoreRules {
  readonly #list: PatternList;
  /** Display name of the file the rules came from ("" when there is none). */
  readonly file: string;
  /** The ignore file's text ("" when there is none): what memoized checksums depend on. */
  readonly text: string;
  readonly #dirInfo = new Map<string, MatchInfo>();

  constructor(list: PatternList, file: string, text = "") {
    this.#list = list;
    this.file = file;
    this.text = text;
  }

  static readonly none = new IgnoreRules(PatternList.compile([]), "");

  /** Build from ignore-file text (throws ContextPatternError for a bad line). */
  static fromText(text: string, file: string): IgnoreRules {
    return new IgnoreRules(compilePatterns(parseIgnoreFile(text, file), file), file, text);
  }

  get empty(): boolean {
    return this.#list.size === 0;
  }

  get patterns(): PatternList {
    return this.#list;
  }

  /** Match info of a directory, computed from the root down (memoized) so results equal a full walk's. */
  infoOf(dir: string): MatchInfo | undefined {
    if (dir === "" || this.#list.size === 0) return undefined;
    const memo = this.#dirInfo.get(dir);
    if (memo !== undefined) return memo;
    const slash = dir.lastIndexOf("/");
    const parent = slash === -1 ? undefined : this.infoOf(dir.slice(0, slash));
    const info = this.#list.match(dir, parent ?? (slash === -1 ? [] : undefined)).info;
    this.#dirInfo.set(dir, info);
    return info;
  }

  /** Match a context-relative path given its parent's info (as a walk does). */
  matchChild(path: string, parentInfo: MatchInfo | undefined): { ignored: boolean; info: MatchInfo } {
    if (this.#list.size === 0) return NOT_IGNORED;
    const r = this.#list.match(path, parentInfo ?? []);
    return { ignored: r.matched, info: r.info };
  }

  /** Whether `path` (context-relative, "/"-separated) is ignored, and by which line. The root is never ignored. */
  isIgnored(path: string): IgnoreVerdict {
    const p = cleanPath(path.replace(/^\/+/, ""));
    if (p === "." || this.#list.size === 0 || p.startsWith("../") || p === "..") return { ignored: false };
    const slash = p.lastIndexOf("/");
    const parent = slash === -1 ? [] : this.infoOf(p.slice(0, slash));
    const r = this.#list.match(p, parent);
    if (r.decider === undefined) return { ignored: r.matched };
    const pattern = r.decider.exclusion ? `!${r.decider.pattern}` : r.decider.pattern;
    return { ignored: r.matched, file: r.decider.file, line: r.decider.line, pattern };
  }

  /**
   * For an ignored directory: true when the walk skips it, as Docker 20.10 sends the context: unless an exception
   * pattern starts with the directory's path, nothing inside is re-included.
   */
  canSkip(dir: string): boolean {
    return this.#list.canSkipMatchedDir(dir, true);
  }
}

/** Where to look for ignore rules. */
export interface IgnoreSource {
  /** Absolute context root. */
  readonly root: string;
  /** Absolute path of the Dockerfile; enables `<Dockerfile>.dockerignore`. */
  readonly dockerfile?: string;
  /** Ignore-file text given directly (e.g. Dockerfile from stdin); overrides the files on disk. */
  readonly text?: { readonly content: string; readonly file: string };
}

/** Load the active ignore file: `<Dockerfile>.dockerignore` if present, else `<root>/.dockerignore`, else none. */
export async function loadIgnoreRules(src: IgnoreSource): Promise<IgnoreRules> {
  if (src.text !== undefined) return IgnoreRules.fromText(src.text.content, src.text.file);
  const candidates: { abs: string; display: string }[] = [];
  if (src.dockerfile !== undefined) {
    candidates.push({ abs: `${src.dockerfile}.dockerignore`, display: `${basename(src.dockerfile)}.dockerignore` });
  }
  candidates.push({ abs: join(src.root, ".dockerignore"), display: ".dockerignore" });
  for (const c of candidates) {
    let text: string;
    try {
      text = await readFile(c.abs, "utf8");
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "ENOENT" || code === "ENOTDIR") continue;
      throw new ContextReadError(c.display, describeFsError(err), err);
    }
    return IgnoreRules.fromText(text, c.display);
  }
  return IgnoreRules.none;
}
