import { describe, it, expect } from "@jest/globals";
import { expandWord, expandWords, expandWordWithMatches, ExpandError } from "../../../src/parser/expand.js";

const env = new Map([
  ["A", "1"],
  ["B", ""],
  ["V", "abc"],
]);

function failure(fn: () => unknown): ExpandError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ExpandError) return e;
    throw e;
  }
  throw new Error("expected an ExpandError");
}

describe("expandWordWithMatches", () => {
  it("reports matched and unmatched names, nested ones included", () => {
    const r = expandWordWithMatches("$A ${B:-x} ${C:-${D:-$A}} ${E+y}", env);
    expect(r.result).toBe("1 x 1 ");
    expect([...r.matched].sort()).toEqual(["A", "B"]);
    expect([...r.unmatched].sort()).toEqual(["C", "D", "E"]);
  });
  it("reports nothing for quoted or escaped references", () => {
    const r = expandWordWithMatches("'$A' \\$B", env);
    expect(r.result).toBe("$A $B");
    expect(r.matched.size + r.unmatched.size).toBe(0);
  });
  it("accepts a plain record and ignores inherited properties", () => {
    expect(expandWord("$X-$toString-${constructor:-d}", { X: "x" })).toBe("x--d");
  });
});

describe("options", () => {
  it("rawQuotes keeps the quotes", () => {
    expect(expandWord(`'a' "b $A"`, env, { rawQuotes: true })).toBe(`'a' "b 1"`);
  });
  it("rawEscapes keeps the escape characters", () => {
    expect(expandWord("a\\ b\\$A", env, { rawEscapes: true })).toBe("a\\ b\\$A");
  });
  it("skipUnsetEnv leaves unset references as written", () => {
    expect(expandWord("$A $NOPE ${NOPE} ${NOPE:-d} ${NOPE/x/y}", env, { skipUnsetEnv: true })).toBe("1 $NOPE ${NOPE} ${NOPE:-d} ${NOPE/x/y}");
  });
  it("skipProcessQuotes treats quotes as text (heredoc bodies)", () => {
    expect(expandWord(`echo '$A' "$A"`, env, { skipProcessQuotes: true })).toBe(`echo '1' "1"`);
  });
  it("keeps the spaces after << for heredoc detection", () => {
    expect(expandWords("cat <<  EOF > f", env)).toEqual(["cat", "<<  EOF", ">", "f"]);
  });
  it("backtick escape leaves backslashes alone", () => {
    expect(expandWord("C:\\$A `$A", env, { escape: "`" })).toBe("C:\\1 $A");
  });
});

describe("Go regexp semantics of ${v//p/r}", () => {
  it("ignores an empty match right after a match", () => {
    expect(expandWord("${V//*/X}", env)).toBe("X");
    expect(expandWord("${B//*/X}", env)).toBe("X");
  });
  it("expands $0 only in replace-all", () => {
    expect(expandWord("${V//b/[\\$0]}", env)).toBe("a[\\b]c");
    expect(expandWord("${V/b/[\\$0]}", env)).toBe("a[\\$0]c");
  });
  it("does not treat . as a wildcard and ? matches a newline-free char", () => {
    expect(expandWord("${V/./X}", env)).toBe("abc");
    expect(expandWord("${V/?/X}", env)).toBe("Xbc");
  });
});

describe("errors", () => {
  it("names the word, has a code and a hint", () => {
    const e = failure(() => expandWord("x${A:?}y${NOPE:?set NOPE please}", env));
    expect(e.code).toBe("TSB_EXPAND_UNSET");
    expect(e.message).toBe('failed to process "x${A:?}y${NOPE:?set NOPE please}": NOPE: set NOPE please');
    expect(e.word).toBe("x${A:?}y${NOPE:?set NOPE please}");
    expect(e.hint).toMatch(/NOPE/);
  });
  it.each([
    ["${A", "TSB_EXPAND_SYNTAX", "syntax error: missing '}'"],
    ["${A:-x", "TSB_EXPAND_SYNTAX", "syntax error: missing '}'"],
    ["${A/x", "TSB_EXPAND_SYNTAX", "syntax error: missing '/' in ${}"],
    ["${}", "TSB_EXPAND_SYNTAX", "syntax error: bad substitution"],
    ["'a", "TSB_EXPAND_SYNTAX", "unexpected end of statement while looking for matching single-quote"],
    ['"a', "TSB_EXPAND_SYNTAX", "unexpected end of statement while looking for matching double-quote"],
    ["${A:=x}", "TSB_EXPAND_UNSUPPORTED", "unsupported modifier (:=) in substitution"],
    ["${A:#x}", "TSB_EXPAND_UNSUPPORTED", "unsupported modifier (:#) in substitution"],
    ["${A#\\q}", "TSB_EXPAND_BAD_PATTERN", "invalid pattern (\\q) in substitution: invalid escape '\\q'"],
  ])("%s → %s", (word, code, detail) => {
    const e = failure(() => expandWord(word, env));
    expect(e.code).toBe(code);
    expect(e.message).toBe(`failed to process ${JSON.stringify(word)}: ${detail}`);
    expect(e.hint).toBeTruthy();
  });
});
