import { describe, it, expect } from "@jest/globals";
import { BadPatternError, cleanPath, containsWildcards, matchPath, splitWildcards } from "../../../src/context/go-path.js";

// Go's path.Match table (src/path/match_test.go): [pattern, name, expected | "bad"].
const MATCH: readonly [string, string, boolean | "bad"][] = [
  ["abc", "abc", true],
  ["*", "abc", true],
  ["*c", "abc", true],
  ["a*", "a", true],
  ["a*", "abc", true],
  ["a*", "ab/c", false],
  ["a*/b", "abc/b", true],
  ["a*/b", "a/c/b", false],
  ["a*b*c*d*e*/f", "axbxcxdxe/f", true],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true],
  ["a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/fff", false],
  ["a*b?c*x", "abxbbxdbxebxczzx", true],
  ["a*b?c*x", "abxbbxdbxebxczzy", false],
  ["ab[c]", "abc", true],
  ["ab[b-d]", "abc", true],
  ["ab[e-g]", "abc", false],
  ["ab[^c]", "abc", false],
  ["ab[^b-d]", "abc", false],
  ["ab[^e-g]", "abc", true],
  ["a\\*b", "a*b", true],
  ["a\\*b", "ab", false],
  ["a?b", "a☺b", true],
  ["a[^a]b", "a☺b", true],
  ["a???b", "a☺b", false],
  ["a[^a][^a][^a]b", "a☺b", false],
  ["[a-ζ]*", "α", true],
  ["*[a-ζ]", "A", false],
  ["a?b", "a/b", false],
  ["a*b", "a/b", false],
  ["[\\]a]", "]", true],
  ["[\\-]", "-", true],
  ["[x\\-]", "x", true],
  ["[x\\-]", "-", true],
  ["[x\\-]", "z", false],
  ["[\\-x]", "x", true],
  ["[\\-x]", "-", true],
  ["[\\-x]", "a", false],
  ["[]a]", "]", "bad"],
  ["[-]", "-", "bad"],
  ["[x-]", "x", "bad"],
  ["[x-]", "-", "bad"],
  ["[-x]", "x", "bad"],
  ["\\", "a", "bad"],
  ["[a-b-c]", "a", "bad"],
  ["[", "a", "bad"],
  ["[^", "a", "bad"],
  ["[^bc", "a", "bad"],
  ["a[", "a", "bad"],
  ["a[", "ab", "bad"],
  ["a[", "x", "bad"],
  ["a/b[", "x", "bad"],
  ["*x", "xxx", true],
  // Astral characters count as one for ? (Go decodes runes).
  ["a?b", "a😀b", true],
  // Go quirk kept on purpose: a negated class may match "/".
  ["a[^x]b", "a/b", true],
];

describe("matchPath (Go path.Match)", () => {
  it.each(MATCH)("%j vs %j → %j", (pattern, name, expected) => {
    if (expected === "bad") expect(() => matchPath(pattern, name)).toThrow(BadPatternError);
    else expect(matchPath(pattern, name)).toBe(expected);
  });
});

describe("cleanPath (Go path.Clean)", () => {
  it.each([
    ["", "."],
    ["abc", "abc"],
    ["abc/def/", "abc/def"],
    ["a//b", "a/b"],
    ["./a", "a"],
    ["a/./b/.", "a/b"],
    ["a/../b", "b"],
    ["../a", "../a"],
    ["a/../..", ".."],
    ["/../a", "/a"],
    ["/", "/"],
    ["//x//", "/x"],
    ["abc/def/../../..", ".."],
  ])("%j → %j", (input, out) => expect(cleanPath(input)).toBe(out));
});

describe("COPY wildcard helpers", () => {
  it("detects unescaped wildcards", () => {
    expect(containsWildcards("a*.go")).toBe(true);
    expect(containsWildcards("a?")).toBe(true);
    expect(containsWildcards("[ab]")).toBe(true);
    expect(containsWildcards("a\\*b")).toBe(false);
    expect(containsWildcards("plain")).toBe(false);
  });
  it("splits a source into its literal prefix and its pattern", () => {
    expect(splitWildcards("src/pkg/*.go")).toEqual({ prefix: "src/pkg", pattern: "*.go" });
    expect(splitWildcards("src/*/x")).toEqual({ prefix: "src", pattern: "*/x" });
    expect(splitWildcards("*.txt")).toEqual({ prefix: "", pattern: "*.txt" });
    expect(splitWildcards("a/b")).toEqual({ prefix: "a/b", pattern: "" });
  });
});
