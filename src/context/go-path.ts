/**
 * Go's `path.Clean` and `path.Match` (slash-separated, Linux), re-implemented because Docker's .dockerignore and
 * COPY-wildcard semantics are defined by them, quirks included (e.g. a `[^x]` class may match `/` in `path.Match`).
 */

/** Go `path.Clean`: shortest equivalent path; "" becomes "."; a rooted path never climbs above "/". */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}

/** Thrown by {@link matchPath} for a malformed pattern (Go's `path.ErrBadPattern`). */
export class BadPatternError extends Error {
  constructor(pattern: string) {
    super(`syntax error in pattern ${JSON.stringify(pattern)}`);
    this.name = "BadPatternError";
  }
}

/** Split off the leading chunk: a run of stars, then the text up to the next unescaped star. */
function scanChunk(pattern: string): { star: boolean; chunk: string; rest: string } {
  let i = 0;
  let star = false;
  while (i < pattern.length && pattern[i] === "*") {
    i++;
    star = true;
  }
  pattern = pattern.slice(i);
  let inRange = false;
  let j = 0;
  for (; j < pattern.length; j++) {
    const c = pattern[j];
    if (c === "\\") {
      if (j + 1 < pattern.length) j++;
    } else if (c === "[") inRange = true;
    else if (c === "]") inRange = false;
    else if (c === "*" && !inRange) break;
  }
  return { star, chunk: pattern.slice(0, j), rest: pattern.slice(j) };
}

/** Read one (possibly escaped) character of a class; returns null on a syntax error. */
function getEsc(chunk: string): { ch: number; rest: string } | null {
  if (chunk.length === 0 || chunk[0] === "-" || chunk[0] === "]") return null;
  let i = 0;
  if (chunk[0] === "\\") {
    i = 1;
    if (chunk.length === 1) return null;
  }
  const ch = chunk.codePointAt(i)!;
  const n = ch > 0xffff ? 2 : 1;
  const rest = chunk.slice(i + n);
  if (rest.length === 0) return null;
  return { ch, rest };
}

/**
 * Match one chunk against the start of `s`. Returns the remaining text, null when it does not match, or throws
 * BadPatternError. Like Go, keeps parsing after a failure so syntax errors are always reported.
 */
function matchChunk(chunk: string, s: string, whole: string): string | null {
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const c = chunk[0];
    if (c === "[") {
      let r = 0;
      if (!failed) {
        r = s.codePointAt(0)!;
        s = s.slice(r > 0xffff ? 2 : 1);
      }
      chunk = chunk.slice(1);
      let negated = false;
      if (chunk.length > 0 && chunk[0] === "^") {
        negated = true;
        chunk = chunk.slice(1);
      }
      let matched = false;
      let nrange = 0;
      for (;;) {
        if (chunk.length > 0 && chunk[0] === "]" && nrange > 0) {
          chunk = chunk.slice(1);
          break;
        }
        const lo = getEsc(chunk);
        if (lo === null) throw new BadPatternError(whole);
        chunk = lo.rest;
        let hi = lo.ch;
        if (chunk[0] === "-") {
          const h = getEsc(chunk.slice(1));
          if (h === null) throw new BadPatternError(whole);
          hi = h.ch;
          chunk = h.rest;
        }
        if (lo.ch <= r && r <= hi) matched = true;
        nrange++;
      }
      if (matched === negated) failed = true;
    } else if (c === "?") {
      if (!failed) {
        if (s[0] === "/") failed = true;
        const cp = s.codePointAt(0)!;
        s = s.slice(cp > 0xffff ? 2 : 1);
      }
      chunk = chunk.slice(1);
    } else if (c === "\\") {
      chunk = chunk.slice(1);
      if (chunk.length === 0) throw new BadPatternError(whole);
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    } else {
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    }
  }
  return failed ? null : s;
}

/** Go `path.Match(pattern, name)`: `*` and `?` never match `/`; `[^…]` negates; `\` escapes. */
export function matchPath(pattern: string, name: string): boolean {
  const whole = pattern;
  outer: while (pattern.length > 0) {
    const { star, chunk, rest } = scanChunk(pattern);
    pattern = rest;
    if (star && chunk === "") return !name.includes("/");
    const t = matchChunk(chunk, name, whole);
    if (t !== null && (t.length === 0 || pattern.length > 0)) {
      name = t;
      continue;
    }
    if (star) {
      for (let i = 0; i < name.length && name[i] !== "/"; i++) {
        const t2 = matchChunk(chunk, name.slice(i + 1), whole);
        if (t2 !== null) {
          if (pattern.length === 0 && t2.length > 0) continue;
          name = t2;
          continue outer;
        }
      }
    }
    // Validate the rest of the pattern so syntax errors surface even when the name fails early.
    while (pattern.length > 0) {
      const next = scanChunk(pattern);
      pattern = next.rest;
      matchChunk(next.chunk, "", whole);
    }
    return false;
  }
  return name.length === 0;
}

/** Throws BadPatternError when `pattern` is malformed (Go: `path.Match(pattern, ".")` returning an error). */
export function validatePattern(pattern: string): void {
  matchPath(pattern, ".");
}

/** Whether a COPY source contains wildcard characters (`*`, `?`, `[`), skipping `\`-escaped ones. */
export function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === "*" || c === "?" || c === "[") return true;
    if (c === "\\") i++;
  }
  return false;
}

/** Split a cleaned, context-relative path into its wildcard-free prefix and the rest (BuildKit splitWildcards). */
export function splitWildcards(p: string): { prefix: string; pattern: string } {
  const parts = p === "" || p === "." ? [] : p.split("/");
  const idx = parts.findIndex((part) => containsWildcards(part));
  if (idx === -1) return { prefix: parts.join("/"), pattern: "" };
  return { prefix: parts.slice(0, idx).join("/"), pattern: parts.slice(idx).join("/") };
}
