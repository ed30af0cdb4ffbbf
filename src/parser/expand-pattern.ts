/**
 * Shell patterns of `${v#p} ${v%p} ${v/p/r}` as BuildKit evaluates them: `*` and `?` wildcards (no bracket
 * expressions) compiled to a regular expression with Go's RE2 semantics, including Go's ReplaceAllString rules
 * for empty matches and `$0` in the replacement.
 */

/** Characters that are regex syntax and must be escaped (same set as BuildKit). */
const REGEX_SPECIALS = new Set(["[", "]", "{", "}", ".", "+", "(", ")", "|", "^", "$"]);

/**
 * Compile a shell wildcard pattern. `*` is the shortest match unless `greedy`; `anchored` matches only at the
 * start. `\*`, `\?`, `\\` are literal; `\}` and `\/` drop the backslash. Any other escape is an error.
 */
export function shellPatternToRegExp(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? "^" : "";
  // Go's `.` matches anything but \n; JS's `.` also refuses \r, \u2028 and \u2029.
  const any = "[^\\n]";
  const star = greedy ? `${any}*` : `${any}*?`;
  for (let i = 0; i < chars.length; i++) {
    const tok = chars[i]!;
    if (tok === "*") {
      out += star;
      continue;
    }
    if (tok === "?") {
      out += any;
      continue;
    }
    if (tok === "\\") {
      const peek = chars[i + 1];
      if (peek === "}" || peek === "/") continue;
      i++;
      if (peek !== "*" && peek !== "?" && peek !== "\\") throw new Error(`invalid escape '\\${peek ?? "\uFFFD"}'`);
      out += "\\" + peek;
      continue;
    }
    out += REGEX_SPECIALS.has(tok) ? "\\" + tok : tok;
  }
  return new RegExp(out, "gu");
}

/** First match of `re` in `s` at or after `from` as [start, end], or undefined. */
function matchAt(re: RegExp, s: string, from: number): [number, number] | undefined {
  re.lastIndex = from;
  const m = re.exec(s);
  return m ? [m.index, m.index + m[0].length] : undefined;
}

/** Remove the shortest (or longest when `greedy`) prefix of `value` matching `pattern`. */
export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const re = shellPatternToRegExp(pattern, greedy, true);
  const m = matchAt(re, value, 0);
  return m ? value.slice(m[1]) : value;
}

/** Reverse a pattern by code points but keep `\x` escapes in order (`a\*c` → `c\*a`). */
function reversePattern(pattern: string): string {
  const p = Array.from(pattern);
  const out = new Array<string>(p.length);
  const last = p.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = p[i]!;
    const o = last - i;
    if (tok === "\\" && i !== last) {
      out[o - 1] = tok;
      out[o] = p[i + 1]!;
      i += 2;
    } else {
      out[o] = tok;
      i++;
    }
  }
  return out.join("");
}

const reverseString = (s: string): string => Array.from(s).reverse().join("");

/**
 * Remove the shortest (or longest) suffix matching `pattern`. Regexes find leftmost matches only, so, like
 * BuildKit, reverse both the pattern and the value and trim a prefix.
 */
export function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}

/** Go's Regexp.Expand for a regex without capture groups: `$$` → `$`, `$0`/`${0}` → the match, other names → "". */
function expandTemplate(template: string, match: string): string {
  let out = "";
  let t = template;
  for (;;) {
    const i = t.indexOf("$");
    if (i < 0) break;
    out += t.slice(0, i);
    t = t.slice(i + 1);
    if (t.startsWith("$")) {
      out += "$";
      t = t.slice(1);
      continue;
    }
    const m = /^(?:\{([\p{L}\p{Nd}_]+)\}|([\p{L}\p{Nd}_]+))/u.exec(t);
    if (!m) {
      out += "$";
      continue;
    }
    t = t.slice(m[0].length);
    const name = m[1] ?? m[2]!;
    if (/^\d+$/.test(name) && Number(name) === 0) out += match;
  }
  return out + t;
}

/**
 * `${v/p/r}` (first match replaced literally, as Go's index-splice) and `${v//p/r}` (Go's ReplaceAllString,
 * which expands `$0` in `r` and ignores empty matches right after a previous match).
 */
export function replaceGo(value: string, re: RegExp, replacement: string, all: boolean): string {
  if (!all) {
    const m = matchAt(re, value, 0);
    return m ? value.slice(0, m[0]) + replacement + value.slice(m[1]) : value;
  }
  let out = "";
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= value.length) {
    const m = matchAt(re, value, searchPos);
    if (!m) break;
    out += value.slice(lastMatchEnd, m[0]);
    if (m[1] > lastMatchEnd || m[0] === 0) out += expandTemplate(replacement, value.slice(m[0], m[1]));
    lastMatchEnd = m[1];
    const cp = value.codePointAt(searchPos);
    const width = cp !== undefined && cp > 0xffff ? 2 : 1;
    if (searchPos + width > m[1]) searchPos += width;
    else if (searchPos + 1 > m[1]) searchPos++;
    else searchPos = m[1];
  }
  return out + value.slice(lastMatchEnd);
}
