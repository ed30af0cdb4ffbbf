import { describe, it, expect } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { IgnoreRules, loadIgnoreRules, parseIgnoreFile } from "../../../src/context/dockerignore.js";
import { ContextPatternError } from "../../../src/context/errors.js";
import { PatternList } from "../../../src/context/patterns.js";
import { makeTree, removeTree } from "./tree-fixture.js";

const list = (...pats: string[]) => PatternList.compile(pats.map((text, i) => ({ text, line: i + 1, file: "t" })));

// moby/patternmatcher's TestMatches table (cleaned paths): [pattern, path, matched].
const PATTERNMATCHER: readonly [string, string, boolean][] = [
  ["**", "file", true],
  ["**/", "file", true],
  ["**", "dir/file", true],
  ["**/", "dir/file", true],
  ["**/**", "dir/file", true],
  ["dir/**", "dir/file", true],
  ["dir/**", "dir/dir2/file", true],
  ["**/dir", "dir", true],
  ["**/dir", "dir/file", true],
  ["**/dir2/*", "dir/dir2/file", true],
  ["**/dir2/**", "dir/dir2/dir3/file", true],
  ["**file", "file", true],
  ["**file", "dir/file", true],
  ["**/file", "dir/file", true],
  ["**file", "dir/dir/file", true],
  ["**/file", "dir/dir/file", true],
  ["**/file*", "dir/dir/file", true],
  ["**/file*", "dir/dir/file.txt", true],
  ["**/file*txt", "dir/dir/file.txt", true],
  ["**/file*.txt", "dir/dir/file.txt", true],
  ["**/file*.txt*", "dir/dir/file.txt", true],
  ["**/**/*.txt", "dir/dir/file.txt", true],
  ["**/**/*.txt2", "dir/dir/file.txt", false],
  ["**/*.txt", "file.txt", true],
  ["**/**/*.txt", "file.txt", true],
  ["a**/*.txt", "a/file.txt", true],
  ["a**/*.txt", "a/dir/file.txt", true],
  ["a**/*.txt", "a/dir/dir/file.txt", true],
  ["a/*.txt", "a/dir/file.txt", false],
  ["a/*.txt", "a/file.txt", true],
  ["a/*.txt**", "a/file.txt", true],
  ["a[b-d]e", "ae", false],
  ["a[b-d]e", "ace", true],
  ["a[b-d]e", "aae", false],
  ["a[^b-d]e", "aze", true],
  [".*", ".foo", true],
  [".*", "foo", false],
  ["abc.def", "abcdef", false],
  ["abc.def", "abc.def", true],
  ["abc.def", "abcZdef", false],
  ["abc?def", "abcZdef", true],
  ["abc?def", "abcdef", false],
  ["a\\\\", "a\\", true],
  ["**/foo/bar", "foo/bar", true],
  ["**/foo/bar", "dir/foo/bar", true],
  ["**/foo/bar", "dir/dir2/foo/bar", true],
  ["abc/**", "abc", false],
  ["abc/**", "abc/def", true],
  ["abc/**", "abc/def/ghi", true],
  ["**/.foo", ".foo", true],
  ["**/.foo", "bar.foo", false],
  ["a(b)c/def", "a(b)c/def", true],
  ["a(b)c/def", "a(b)c/xyz", false],
  ["a.|)$(}+{bc", "a.|)$(}+{bc", true],
  ["dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true],
  ["dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true],
  // Own edge cases: a pattern matching a parent excludes the contents; escapes; classes; ? and multi-byte.
  ["a", "a/b/c", true],
  ["a/b", "a/bc", false],
  ["foo\\*", "foo*", true],
  ["foo\\*", "foox", false],
  ["[!a]x", "!x", true],
  ["te?t", "te😀t", true],
  ["*", "a/b", true],
  ["*/b", "a/b/c", true],
  ["*/b", "b", false],
];

describe("Docker patterns (moby/patternmatcher)", () => {
  it.each(PATTERNMATCHER)("%j matches %j → %j", (pattern, path, expected) => {
    expect(list(pattern).match(path).matched).toBe(expected);
  });
});

const DOCS = `# comment
*/temp*
*/*/temp*
temp?
`;

// [ignore file, path, ignored, deciding line]
const FILE_TABLE: readonly [string, string, boolean, number | undefined][] = [
  // docs.docker.com/build/concepts/context/#dockerignore-files
  [DOCS, "somedir/temporary.txt", true, 2],
  [DOCS, "somedir/temp", true, 2],
  [DOCS, "somedir/subdir/temporary.txt", true, 3],
  [DOCS, "tempa", true, 4],
  [DOCS, "tempb", true, 4],
  [DOCS, "temporary.txt", false, undefined],
  [DOCS, "a/b/c/temp", false, undefined],
  ["*.md\n!README.md\n", "CHANGELOG.md", true, 1],
  ["*.md\n!README.md\n", "README.md", false, 2],
  ["*.md\n!README*.md\nREADME-secret.md\n", "README-secret.md", true, 3],
  ["*.md\n!README*.md\nREADME-secret.md\n", "README-public.md", false, 2],
  ["*.md\nREADME-secret.md\n!README*.md\n", "README-secret.md", false, 3],
  ["**/*.go\n", "a/b/c.go", true, 1],
  ["**/*.go\n", "c.go", true, 1],
  // leading slash stripped, cleaned, CRLF, BOM, whitespace
  ["/foo/./bar/\n", "foo/bar/x", true, 1],
  ["\uFEFFfoo\r\nbar\r\n", "foo", true, 1],
  ["\uFEFFfoo\r\nbar\r\n", "bar", true, 2],
  ["   spaced   \n", "spaced", true, 1],
  // "#" only starts a comment in column 1: "  #x" is a pattern
  ["  #x\n", "#x", true, 1],
  ["#x\n", "#x", false, undefined],
  ["! foo\nfoo\n!foo\n", "foo", false, 3],
  // a directory is excluded with its contents, an exception re-includes inside it
  ["node_modules\n", "node_modules/a/b.js", true, 1],
  ["build\n!build/keep\n", "build/keep/x", false, 2],
  ["build\n!build/keep\n", "build/drop", true, 1],
  ["*\n!src\n", "src/a/b", false, 2],
  ["*\n!src\n", "docs/x", true, 1],
  // BuildKit's walk semantics: a pattern skipped at the parent (no possible change) is not inherited
  ["x\n!x/y\nx\n", "x/y", false, 2],
  ["x\n!x/y\nx\n", "x/z", true, 1],
  // patterns that never match inside the context
  ["../foo\n", "foo", false, undefined],
  ["/\n", "anything", false, undefined],
];

describe(".dockerignore files", () => {
  it.each(FILE_TABLE)("%j: %j ignored=%j (line %j)", (text, path, ignored, line) => {
    const v = IgnoreRules.fromText(text, ".dockerignore").isIgnored(path);
    expect(v.ignored).toBe(ignored);
    expect(v.line).toBe(line);
    if (line !== undefined) expect(v.file).toBe(".dockerignore");
  });

  it("reports the pattern as written, with its ! for an exception", () => {
    const rules = IgnoreRules.fromText("*.md\n!README.md\n", ".dockerignore");
    expect(rules.isIgnored("a.md")).toEqual({ ignored: true, file: ".dockerignore", line: 1, pattern: "*.md" });
    expect(rules.isIgnored("README.md")).toEqual({ ignored: false, file: ".dockerignore", line: 2, pattern: "!README.md" });
    expect(rules.isIgnored("/a.md").ignored).toBe(true);
    expect(rules.isIgnored("").ignored).toBe(false);
  });

  it("keeps line numbers past comments and blank lines", () => {
    expect(parseIgnoreFile("# c\n\nfoo\n  \n!bar\n", "f").map((p) => [p.text, p.line])).toEqual([
      ["foo", 3],
      ["!bar", 5],
    ]);
  });

  it.each([
    ["!\n", 1],
    ["ok\n[unclosed\n", 2],
    ["a\nb\ntrailing\\\n", 3],
    ["x[z-a]\n", 1],
  ])("rejects the bad pattern in %j with its line", (text, line) => {
    let err: unknown;
    try {
      IgnoreRules.fromText(text, ".dockerignore");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ContextPatternError);
    expect((err as ContextPatternError).code).toBe("TSB_CONTEXT_BAD_PATTERN");
    expect((err as ContextPatternError).line).toBe(line);
    expect((err as ContextPatternError).message).toContain(`.dockerignore line ${line}`);
  });

  it("only descends into an excluded directory when an exception starts with its path (Docker 20.10)", () => {
    const rules = IgnoreRules.fromText("a\nb\n!b/keep\nc\n!c*/x\ncache/**\n!cache/**/keep.bin\n", ".dockerignore");
    expect(rules.canSkip("a")).toBe(true);
    // A glob exception re-includes nothing below an excluded directory it does not start with.
    expect(rules.canSkip("c")).toBe(true);
    expect(rules.canSkip("cache/deep")).toBe(true);
    expect(rules.canSkip("b")).toBe(false);
    const prefixOnly = IgnoreRules.fromText("a\nb\n!b/keep\n", ".dockerignore");
    expect(prefixOnly.canSkip("a")).toBe(true);
    expect(prefixOnly.canSkip("b")).toBe(false);
    expect(IgnoreRules.fromText("a\n", "f").canSkip("a")).toBe(true);
  });

  it("prefers <Dockerfile>.dockerignore over <context>/.dockerignore", async () => {
    const root = makeTree({ ".dockerignore": "a\n", "build/app.Dockerfile": "FROM x", "build/app.Dockerfile.dockerignore": "# own\nb\n" });
    try {
      const own = await loadIgnoreRules({ root, dockerfile: join(root, "build/app.Dockerfile") });
      expect(own.file).toBe("app.Dockerfile.dockerignore");
      expect(own.isIgnored("b")).toMatchObject({ ignored: true, line: 2 });
      expect(own.isIgnored("a").ignored).toBe(false);
      const plain = await loadIgnoreRules({ root, dockerfile: join(root, "Dockerfile") });
      expect(plain.file).toBe(".dockerignore");
      expect(plain.isIgnored("a").ignored).toBe(true);
      writeFileSync(join(root, ".dockerignore"), "");
      expect((await loadIgnoreRules({ root })).empty).toBe(true);
      removeTree(join(root, ".dockerignore"));
      expect((await loadIgnoreRules({ root })).file).toBe("");
    } finally {
      removeTree(root);
    }
  });
});
