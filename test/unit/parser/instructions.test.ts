import { describe, it, expect } from "@jest/globals";
import { parseDockerfile } from "../../../src/parser/parse.js";
import { toDockerfile } from "../../../src/parser/to-instructions.js";
import { InstructionError } from "../../../src/parser/instructions-errors.js";
import type { Ast, InstructionNode } from "../../../src/parser/ast.js";
import type { Dockerfile, Instruction } from "../../../src/parser/instructions.js";

const df = (text: string): Dockerfile => toDockerfile(parseDockerfile(text, { filename: "Dockerfile" }));
const one = (line: string): Instruction => df(`FROM scratch\n${line}\n`).stages[0]!.instructions[0]!;
function fail(text: string): InstructionError {
  try {
    df(text);
  } catch (e) {
    if (e instanceof InstructionError) return e;
    throw e;
  }
  throw new Error(`expected an InstructionError for:\n${text}`);
}

describe("toDockerfile: stages and meta args", () => {
  it("splits meta args, stages and instructions, keeping words raw", () => {
    const d = df("ARG V=1\nARG BASE\nFROM --platform=$P ${BASE}:$V AS Builder\nRUN echo $V\nFROM builder\nCOPY --from=Builder /a /b\n");
    expect(d.metaArgs.map((a) => a.args)).toEqual([[{ key: "V", value: "1" }], [{ key: "BASE" }]]);
    expect(d.stages).toHaveLength(2);
    const [s0, s1] = d.stages;
    expect(s0).toMatchObject({ name: "builder", nameRaw: "Builder", baseName: "${BASE}:$V", platform: "$P", index: 0, original: "FROM --platform=$P ${BASE}:$V AS Builder" });
    expect(s0!.instructions.map((i) => i.kind)).toEqual(["run"]);
    expect(s1).toMatchObject({ baseName: "builder", index: 1 });
    expect(s1!.name).toBeUndefined();
    expect(s1!.instructions[0]).toMatchObject({ kind: "copy", from: "Builder", sources: ["/a"], dest: "/b" });
    expect(d.escape).toBe("\\");
  });
  it("keeps source ranges, comments and the keyword as written", () => {
    const d = df("FROM scratch\n# say hi\nrun echo \\\n  hi\n");
    const run = d.stages[0]!.instructions[0]!;
    expect(run.source).toEqual([{ start: { line: 3, column: 1 }, end: { line: 4, column: 4 } }]);
    expect(run.keywordRaw).toBe("run");
    expect(run.comments).toEqual(["say hi"]);
    expect(d.stages[0]!.source[0]!.start.line).toBe(1);
  });
  it("passes the escape directive through", () => {
    expect(df("# escape=`\nFROM scratch\n").escape).toBe("`");
  });
  it("accepts hand-built AST nodes", () => {
    const range = { start: { line: 1, column: 1 }, end: { line: 1, column: 10 } };
    const node = (keyword: string, args: string[], extra: Partial<InstructionNode> = {}): InstructionNode => ({
      keyword, keywordRaw: keyword.toUpperCase(), original: `${keyword.toUpperCase()} ${args.join(" ")}`, flags: [], args, json: false,
      heredocs: [], comments: [], range, startLine: 1, endLine: 1, ...extra,
    });
    const ast: Ast = { filename: "x", text: "", directives: [], escape: "\\", warnings: [], nodes: [node("from", ["alpine"]), node("user", ["nobody"])] };
    expect(toDockerfile(ast).stages[0]!.instructions[0]).toMatchObject({ kind: "user", user: "nobody" });
    const bad: Ast = { ...ast, nodes: [node("from", ["alpine"]), node("workdir", ["/a", "/b"])] };
    expect(() => toDockerfile(bad)).toThrow("WORKDIR requires exactly one argument, got 2");
    const envOdd: Ast = { ...ast, nodes: [node("from", ["alpine"]), node("env", ["A"])] };
    expect(() => toDockerfile(envOdd)).toThrow("ENV A has no value");
  });
});

describe("toDockerfile: stage errors", () => {
  it.each([
    ["FROM a AS 1st\n", "TSB_INSTR_STAGE_NAME", 'invalid name for build stage: "1st", name can\'t start with a number or contain symbols'],
    ["FROM a AS my/stage\n", "TSB_INSTR_STAGE_NAME", /my\/stage/],
    ["FROM a AS\n", "TSB_INSTR_ARGUMENTS", "FROM requires either one or three arguments, got 2"],
    ["FROM a b c\n", "TSB_INSTR_ARGUMENTS", "FROM requires either one or three arguments, got 3"],
    ["FROM a AS x y\n", "TSB_INSTR_ARGUMENTS", /got 4/],
    ["FROM a AS x\nFROM b AS X\n", "TSB_INSTR_DUPLICATE_STAGE", 'duplicate stage name "X": already defined on line 1'],
    ["FROM --platfrom=linux/amd64 a\n", "TSB_INSTR_UNKNOWN_FLAG", "unknown flag for FROM: --platfrom (did you mean --platform?)"],
    ["FROM --platform a\n", "TSB_INSTR_FLAG_VALUE", "FROM: missing a value on flag: --platform"],
    ["RUN true\nFROM a\n", "TSB_INSTR_NO_STAGE", "RUN before the first FROM: no build stage in current context"],
    ["ARG A\n", "TSB_INSTR_NO_STAGE", "the Dockerfile contains no stages to build (no FROM instruction)"],
  ])("%j → %s", (text, code, message) => {
    const e = fail(text);
    expect(e.code).toBe(code);
    if (typeof message === "string") expect(e.message).toBe(message);
    else expect(e.message).toMatch(message);
    expect(e.hint).toBeTruthy();
    expect(e.location?.filename).toBe("Dockerfile");
    expect(e.location?.text).toBe(text);
  });
  it("accepts valid stage names case-insensitively", () => {
    expect(df("FROM a AS Stage-1_b.c\n").stages[0]).toMatchObject({ name: "stage-1_b.c", nameRaw: "Stage-1_b.c" });
    expect(df("FROM a as x\n").stages[0]!.name).toBe("x");
  });
  it("points at the failing instruction", () => {
    const e = fail("FROM a\nRUN true\nWORKDIR\n");
    expect(e.location?.ranges[0]?.start.line).toBe(3);
  });
});

describe("unknown instructions", () => {
  it.each([
    ["RUNN true", "unknown instruction: RUNN (did you mean RUN?)"],
    ["cpoy a b", "unknown instruction: cpoy (did you mean COPY?)"],
    ["ENTRYPIONT x", "unknown instruction: ENTRYPIONT (did you mean ENTRYPOINT?)"],
    ["XYZZY x", "unknown instruction: XYZZY"],
  ])("%s", (line, message) => {
    const e = fail(`FROM a\n${line}\n`);
    expect(e.code).toBe("TSB_INSTR_UNKNOWN");
    expect(e.message).toBe(message);
  });
  it("is reported before the missing-FROM error", () => {
    expect(fail("FOO bar\n").code).toBe("TSB_INSTR_UNKNOWN");
  });
});

describe("simple instructions", () => {
  it.each<[string, Partial<Instruction> & Record<string, unknown>]>([
    ["ENV A=1 B=two", { kind: "env", env: [{ key: "A", value: "1" }, { key: "B", value: "two" }], legacyKeyValue: false }],
    ["ENV A 1 2", { kind: "env", env: [{ key: "A", value: "1 2" }], legacyKeyValue: true }],
    ['ENV A="$B c"', { kind: "env", env: [{ key: "A", value: '"$B c"' }] }],
    ["LABEL a=b c=d", { kind: "label", labels: [{ key: "a", value: "b" }, { key: "c", value: "d" }] }],
    ["MAINTAINER Jane Doe <j@x>", { kind: "maintainer", maintainer: "Jane Doe <j@x>" }],
    ["EXPOSE 8080 80/udp $P", { kind: "expose", ports: ["$P", "80/udp", "8080"] }],
    ["VOLUME /a /b", { kind: "volume", volumes: ["/a", "/b"] }],
    ['VOLUME ["/data", "/logs"]', { kind: "volume", volumes: ["/data", "/logs"] }],
    ["USER app:app", { kind: "user", user: "app:app" }],
    ["WORKDIR /src/$APP", { kind: "workdir", path: "/src/$APP" }],
    ["STOPSIGNAL SIGKILL", { kind: "stopsignal", signal: "SIGKILL" }],
    ["ARG A B=2 C=", { kind: "arg", args: [{ key: "A" }, { key: "B", value: "2" }, { key: "C", value: "" }] }],
    ["ARG U=a=b", { kind: "arg", args: [{ key: "U", value: "a=b" }] }],
    ['SHELL ["pwsh", "-c"]', { kind: "shell", shell: ["pwsh", "-c"] }],
    ["CMD echo $HOME", { kind: "cmd", command: { json: false, args: ["echo $HOME"] } }],
    ['CMD ["a", "b c"]', { kind: "cmd", command: { json: true, args: ["a", "b c"] } }],
    ["CMD []", { kind: "cmd", command: { json: true, args: [] } }],
    ["ENTRYPOINT []", { kind: "entrypoint", command: { json: true, args: [] } }],
    ["ENTRYPOINT exec app", { kind: "entrypoint", command: { json: false, args: ["exec app"] } }],
  ])("%s", (line, expected) => {
    const ins = one(line);
    expect(ins).toMatchObject(expected);
    expect(ins.original).toBe(line);
  });

  it.each([
    ["ENV", "TSB_INSTR_ARGUMENTS"],
    ["ENV =x", "TSB_INSTR_KEY_VALUE"],
    ["LABEL", "TSB_INSTR_ARGUMENTS"],
    ["MAINTAINER", "TSB_INSTR_ARGUMENTS"],
    ["EXPOSE", "TSB_INSTR_ARGUMENTS"],
    ["VOLUME", "TSB_INSTR_ARGUMENTS"],
    ['VOLUME ["/a", " "]', "TSB_INSTR_ARGUMENTS"],
    ["USER", "TSB_INSTR_ARGUMENTS"],
    ["STOPSIGNAL", "TSB_INSTR_ARGUMENTS"],
    ["ARG", "TSB_INSTR_ARGUMENTS"],
    ["ARG =1", "TSB_INSTR_KEY_VALUE"],
    ["SHELL /bin/sh -c", "TSB_INSTR_NOT_JSON"],
    ["SHELL []", "TSB_INSTR_ARGUMENTS"],
    ["USER --chown=1 app", "TSB_INSTR_UNKNOWN_FLAG"],
    ["ENV --x=1 A=1", "TSB_INSTR_UNKNOWN_FLAG"],
    ["CMD --link true", "TSB_INSTR_UNKNOWN_FLAG"],
  ])("%s → %s", (line, code) => {
    const text = `FROM a\n${line}\n`;
    let err: unknown;
    try {
      df(text);
    } catch (e) {
      err = e;
    }
    // Some of these the parser itself already rejects (TSB_PARSE_*); either way it must be a located, typed error.
    expect((err as { code?: string }).code).toMatch(line.startsWith("ENV") || line.startsWith("LABEL") ? /^TSB_(INSTR|PARSE)_/ : new RegExp(`^(${code}|TSB_PARSE_.*)$`));
    if ((err as { code: string }).code.startsWith("TSB_INSTR_")) expect((err as InstructionError).code).toBe(code);
  });

  it("messages mirror BuildKit", () => {
    expect(fail("FROM a\nSHELL /bin/sh -c\n").message).toBe("SHELL requires the arguments to be in JSON form");
    expect(fail("FROM a\nUSER --chown=1 app\n").message).toBe("USER takes no flags, got --chown");
  });
});

describe("ONBUILD", () => {
  it("keeps the expression and parses the trigger", () => {
    const ins = one("ONBUILD COPY --chown=1 . /app");
    expect(ins).toMatchObject({ kind: "onbuild", expression: "COPY --chown=1 . /app", trigger: { kind: "copy", chown: "1", sources: ["."], dest: "/app" } });
  });
  it("re-appends heredoc bodies to the expression", () => {
    const ins = one("ONBUILD RUN <<EOF\necho hi\nEOF");
    expect(ins).toMatchObject({ kind: "onbuild", expression: "RUN <<EOF\necho hi\nEOF", trigger: { kind: "run", files: [{ name: "EOF", data: "echo hi\n" }] } });
  });
  it.each([
    ["ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"],
    ["ONBUILD FROM alpine", "FROM isn't allowed as an ONBUILD trigger"],
    ["ONBUILD maintainer me", "MAINTAINER isn't allowed as an ONBUILD trigger"],
  ])("%s", (line, message) => {
    const e = fail(`FROM a\n${line}\n`);
    expect(e.code).toBe("TSB_INSTR_ONBUILD");
    expect(e.message).toBe(message);
  });
  it("validates the trigger", () => {
    expect(fail("FROM a\nONBUILD RUNN x\n").message).toBe("unknown instruction: RUNN (did you mean RUN?)");
  });
});
