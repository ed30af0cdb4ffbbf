import { describe, it, expect } from "@jest/globals";
import { parseDockerfile } from "../../../src/parser/parse.js";
import { toDockerfile } from "../../../src/parser/to-instructions.js";
import { InstructionError } from "../../../src/parser/instructions-errors.js";
import { parseFlags } from "../../../src/parser/flags.js";
import type { Instruction } from "../../../src/parser/instructions.js";

const one = (line: string): Instruction =>
  toDockerfile(parseDockerfile(`FROM scratch\n${line}\n`, { filename: "Dockerfile" })).stages[0]!.instructions[0]!;
function fail(line: string): InstructionError {
  try {
    one(line);
  } catch (e) {
    if (e instanceof InstructionError) return e;
    throw e;
  }
  throw new Error(`expected an InstructionError for ${line}`);
}

describe("parseFlags", () => {
  const spec = { link: "bool", chown: "string", exclude: "strings" } as const;
  it.each<[string[], object]>([
    [[], {}],
    [["--link"], { link: true }],
    [["--link=false"], { link: false }],
    [["--link=TRUE"], { link: true }],
    [["--chown=1:2"], { chown: "1:2" }],
    [["--chown="], { chown: "" }],
    [["--exclude=a", "--exclude=b"], { exclude: ["a", "b"] }],
    [["--link", "--", "--bogus"], { link: true }],
  ])("%j", (raw, values) => {
    expect(parseFlags(raw, spec, "COPY").values).toEqual(values);
  });
  it.each([
    [["--lnk"], "TSB_INSTR_UNKNOWN_FLAG", "unknown flag for COPY: --lnk (did you mean --link?)"],
    [["--Link"], "TSB_INSTR_UNKNOWN_FLAG", "unknown flag for COPY: --Link (did you mean --link?)"],
    [["--link="], "TSB_INSTR_FLAG_VALUE", "COPY: missing a value on flag: --link"],
    [["--link=yes"], "TSB_INSTR_FLAG_VALUE", "COPY: expecting boolean value for flag --link, not: yes"],
    [["--chown"], "TSB_INSTR_FLAG_VALUE", "COPY: missing a value on flag: --chown"],
    [["--chown=1", "--chown=2"], "TSB_INSTR_FLAG_VALUE", "COPY: duplicate flag specified: --chown"],
    [["--link", "--link"], "TSB_INSTR_FLAG_VALUE", "COPY: duplicate flag specified: --link"],
    [["--exclude"], "TSB_INSTR_FLAG_VALUE", "COPY: missing a value on flag: --exclude"],
    [["-x"], "TSB_INSTR_FLAG_VALUE", "COPY: flag should start with --: -x"],
  ])("%j → %s", (raw, code, message) => {
    let err: unknown;
    try {
      parseFlags(raw, spec, "COPY");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InstructionError);
    expect((err as InstructionError).code).toBe(code);
    expect((err as InstructionError).message).toBe(message);
    expect((err as InstructionError).hint).toBeTruthy();
  });
  it("records the flags used, once each", () => {
    expect(parseFlags(["--exclude=a", "--link", "--exclude=b"], spec, "COPY").used).toEqual(["exclude", "link"]);
  });
});

describe("RUN", () => {
  it.each<[string, object]>([
    ["RUN make", { command: { json: false, args: ["make"] }, mounts: [], network: "default", security: "sandbox", flagsUsed: [] }],
    ['RUN ["make", "all"]', { command: { json: true, args: ["make", "all"] } }],
    ["RUN --network=none make", { network: "none", flagsUsed: ["network"] }],
    ["RUN --network=host make", { network: "host" }],
    ["RUN --security=insecure make", { security: "insecure" }],
    ["RUN --mount=type=cache,target=/c --mount=type=secret,id=tok make", { mounts: ["type=cache,target=/c", "type=secret,id=tok"], flagsUsed: ["mount"] }],
    ["RUN --mount=type=bind,source=$X,from=stage$ make", { mounts: ["type=bind,source=$X,from=stage$"] }],
    ["RUN --mount=type=$T,target=/x make", { mounts: ["type=$T,target=/x"] }],
    ["RUN <<EOF\necho hi\nEOF", { command: { json: false, args: ["<<EOF"] }, files: [{ name: "EOF", data: "echo hi\n", chomp: false, expand: true, fileDescriptor: 0 }] }],
    ["RUN 3<<'EOF' cat /dev/fd/3\n$x\nEOF", { files: [{ name: "EOF", data: "$x\n", expand: false, fileDescriptor: 3 }] }],
  ])("%s", (line, expected) => {
    expect(one(line)).toMatchObject({ kind: "run", ...expected });
  });
  it.each([
    ["RUN --network=bridge make", "TSB_INSTR_FLAG_VALUE", 'RUN: invalid network mode "bridge"'],
    ["RUN --security=privileged make", "TSB_INSTR_FLAG_VALUE", 'RUN: security "privileged" is not valid'],
    ["RUN --mount=type=cache,from=$IMG,target=/x make", "TSB_INSTR_MOUNT", "RUN --mount: 'from' doesn't support variable expansion, define alias stage instead"],
    ["RUN --mount=type=cahce,target=/x make", "TSB_INSTR_MOUNT", 'RUN --mount: unsupported mount type "cahce" (did you mean cache?)'],
    ["RUN --mount=type=bind,traget=/x make", "TSB_INSTR_MOUNT", "RUN --mount: unexpected key 'traget' in 'traget=/x' (did you mean target?)"],
    ["RUN --mout=type=bind make", "TSB_INSTR_UNKNOWN_FLAG", "unknown flag for RUN: --mout (did you mean --mount?)"],
    ["RUN --mount=type=bind,from=$X make", "TSB_INSTR_MOUNT", "RUN --mount: 'from' doesn't support variable expansion, define alias stage instead"],
    ["RUN --device=/dev/fuse make", "TSB_INSTR_UNKNOWN_FLAG", "unknown flag for RUN: --device"],
    ['RUN []', "TSB_INSTR_ARGUMENTS", "RUN requires a command"],
  ])("%s → %s", (line, code, message) => {
    const e = fail(line);
    expect(e.code).toBe(code);
    expect(e.message).toBe(message);
    expect(e.location?.ranges[0]?.start.line).toBe(2);
  });
});

describe("COPY and ADD", () => {
  it.each<[string, object]>([
    ["COPY a b /d/", { kind: "copy", sources: ["a", "b"], dest: "/d/", contents: [], link: false, parents: false, exclude: [] }],
    ['COPY ["a b", "/d"]', { kind: "copy", sources: ["a b"], dest: "/d" }],
    ["COPY --from=0 --chown=app:app --chmod=0644 --link --parents --exclude=*.md --exclude=.git a /d", { from: "0", chown: "app:app", chmod: "0644", link: true, parents: true, exclude: ["*.md", ".git"] }],
    ["COPY --link=false a /d", { link: false }],
    ["COPY --from= a /d", { sources: ["a"] }],
    ["COPY <<A <<'B' /d/\none $x\nA\ntwo $x\nB", { sources: [], contents: [{ path: "A", data: "one $x\n", expand: true }, { path: "B", data: "two $x\n", expand: false }] }],
    ["ADD https://x/y.tgz /d", { kind: "add", sources: ["https://x/y.tgz"], dest: "/d", link: false, exclude: [] }],
    ["ADD --checksum=sha256:abc --keep-git-dir --unpack=false --chown=1 --chmod=755 --link --exclude=x a /d", { checksum: "sha256:abc", keepGitDir: true, unpack: false, chown: "1", chmod: "755", link: true, exclude: ["x"] }],
  ])("%s", (line, expected) => {
    expect(one(line)).toMatchObject(expected);
  });
  it("leaves unset optional flags undefined", () => {
    const add = one("ADD a /d");
    expect(add).not.toHaveProperty("keepGitDir");
    expect(add).not.toHaveProperty("unpack");
    expect(add).not.toHaveProperty("chown");
    expect(one("COPY --from= a /d")).not.toHaveProperty("from");
  });
  it.each([
    ["COPY a", "TSB_INSTR_ARGUMENTS", "COPY requires at least two arguments, but only one was provided: the destination could not be determined"],
    ["ADD a", "TSB_INSTR_ARGUMENTS", "ADD requires at least two arguments, but only one was provided: the destination could not be determined"],
    ["COPY a <<EOF\nx\nEOF", "TSB_INSTR_HEREDOC", "COPY cannot accept a heredoc as a destination"],
    ["COPY --form=x a /d", "TSB_INSTR_UNKNOWN_FLAG", "unknown flag for COPY: --form (did you mean --from?)"],
    ["COPY --checksum=x a /d", "TSB_INSTR_UNKNOWN_FLAG", "unknown flag for COPY: --checksum"],
    ["ADD --from=x a /d", "TSB_INSTR_UNKNOWN_FLAG", "unknown flag for ADD: --from"],
    ["ADD --unpack=maybe a /d", "TSB_INSTR_FLAG_VALUE", "ADD: expecting boolean value for flag --unpack, not: maybe"],
    ["COPY --chown a /d", "TSB_INSTR_FLAG_VALUE", "COPY: missing a value on flag: --chown"],
  ])("%s → %s", (line, code, message) => {
    const e = fail(line);
    expect(e.code).toBe(code);
    expect(e.message).toBe(message);
  });
});

describe("HEALTHCHECK", () => {
  const s = 1_000_000_000;
  it.each<[string, object]>([
    ["HEALTHCHECK NONE", { test: ["NONE"], interval: 0, retries: 0 }],
    ["HEALTHCHECK none", { test: ["NONE"] }],
    ["HEALTHCHECK CMD curl -f http://x/", { test: ["CMD-SHELL", "curl -f http://x/"] }],
    ['HEALTHCHECK CMD ["curl", "-f", "x"]', { test: ["CMD", "curl", "-f", "x"] }],
    [
      "HEALTHCHECK --interval=1m30s --timeout=5s --start-period=1.5s --start-interval=250ms --retries=4 CMD true",
      { interval: 90 * s, timeout: 5 * s, startPeriod: 1.5 * s, startInterval: 250_000_000, retries: 4 },
    ],
    ["HEALTHCHECK --interval=0 --timeout=0s --retries=0 CMD true", { interval: 0, timeout: 0, retries: 0 }],
    ["HEALTHCHECK --interval=1h2m3.5s CMD true", { interval: 3723.5 * s }],
    ["HEALTHCHECK --interval=1ms CMD true", { interval: 1_000_000 }],
    ["HEALTHCHECK --interval=1000us CMD true", { interval: 1_000_000 }],
    ["HEALTHCHECK --interval=1000\u00b5s CMD true", { interval: 1_000_000 }],
    ["HEALTHCHECK --interval=.5s CMD true", { interval: s / 2 }],
    ["HEALTHCHECK --interval=+2s CMD true", { interval: 2 * s }],
  ])("%s", (line, health) => {
    expect(one(line)).toMatchObject({ kind: "healthcheck", health });
  });
  it.each([
    ["HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"],
    ["HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"],
    ["HEALTHCHECK RUN true", 'Unknown type "RUN" in HEALTHCHECK (try CMD)'],
    ["HEALTHCHECK --interval=5 CMD true", 'HEALTHCHECK --interval: time: missing unit in duration "5"'],
    ["HEALTHCHECK --timeout=5d CMD true", 'HEALTHCHECK --timeout: time: unknown unit "d" in duration "5d"'],
    ["HEALTHCHECK --start-period=abc CMD true", 'HEALTHCHECK --start-period: time: invalid duration "abc"'],
    ["HEALTHCHECK --interval=. CMD true", 'HEALTHCHECK --interval: time: invalid duration "."'],
    ["HEALTHCHECK --interval=999us CMD true", "HEALTHCHECK --interval=999us is too short: it cannot be less than 1ms"],
    ["HEALTHCHECK --interval=-1s CMD true", "HEALTHCHECK --interval=-1s is too short: it cannot be less than 1ms"],
    ["HEALTHCHECK --interval=3000000h CMD true", 'HEALTHCHECK --interval: time: invalid duration "3000000h"'],
    ["HEALTHCHECK --retries=-1 CMD true", "HEALTHCHECK --retries cannot be negative (-1)"],
    ["HEALTHCHECK --retries=x CMD true", 'HEALTHCHECK --retries: invalid number "x"'],
    ["HEALTHCHECK --retries=3000000000 CMD true", 'HEALTHCHECK --retries: invalid number "3000000000"'],
  ])("%s", (line, message) => {
    const e = fail(line);
    expect(e.code).toBe("TSB_INSTR_HEALTHCHECK");
    expect(e.message).toBe(message);
  });
  it("rejects unknown flags with a suggestion", () => {
    expect(fail("HEALTHCHECK --intervall=5s CMD true").message).toBe("unknown flag for HEALTHCHECK: --intervall (did you mean --interval?)");
  });
});
