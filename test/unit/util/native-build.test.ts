/** buildNative: compile on first use, cache by source hash, drop stale builds, report compile failures as data. */
import { afterAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildNative, findNativeDir, NativeBuildError } from "../../../src/util/native-build.js";

const dir = mkdtempSync(join(tmpdir(), "tsb-native-build-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sources(name: string, files: Record<string, string>): string {
  const src = join(dir, name);
  mkdirSync(src, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(src, f), text);
  return src;
}

describe("buildNative", () => {
  it("compiles the selected sources once, reuses the binary, and replaces it when a source changes", () => {
    const src = sources("ok", {
      "greet.c": '#include <stdio.h>\n#include "greet.h"\nint main(void) { puts(GREETING); return 0; }\n',
      "greet.h": '#define GREETING "hello"\n',
      "other.c": "int main(void) { return 3; }\n", // another program: not linked in
    });
    const program = { name: "greet", dir: src, sources: (f: string) => f !== "other.c", fallbackDir: join(dir, "fb") };
    const path = buildNative(program);
    expect(path.startsWith(join(src, "build", "greet-"))).toBe(true);
    expect(execFileSync(path, { encoding: "utf8" })).toBe("hello\n");
    const mtime = statSync(path).mtimeMs;
    expect(buildNative(program)).toBe(path);
    expect(statSync(path).mtimeMs).toBe(mtime);

    writeFileSync(join(src, "greet.h"), '#define GREETING "hi"\n');
    const next = buildNative(program);
    expect(next).not.toBe(path);
    expect(execFileSync(next, { encoding: "utf8" })).toBe("hi\n");
    expect(readdirSync(join(src, "build"))).toEqual([next.slice(next.lastIndexOf("/") + 1)]);
  });

  it("links the given libraries, and they are part of the cache key", () => {
    const src = sources("libs", { "m.c": "#include <math.h>\n#include <stdlib.h>\nint main(int c, char **v) { (void)v; return (int)sqrt((double)(c + 8)); }\n" });
    const a = buildNative({ name: "m", dir: src, sources: () => true, libs: ["-lm"] });
    const b = buildNative({ name: "m", dir: src, sources: () => true, libs: ["-lm", "-lpthread"] });
    expect(a).not.toBe(b);
    expect(() => execFileSync(b)).toThrow(expect.objectContaining({ status: 3 }));
  });

  it("reports a compile failure with the compiler's output, leaving no binary behind", () => {
    const src = sources("bad", { "bad.c": "int main(void) { return missing_symbol; }\n" });
    let err: unknown;
    try {
      buildNative({ name: "bad", dir: src, sources: () => true, fallbackDir: join(dir, "fb") });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NativeBuildError);
    expect(err).toMatchObject({ kind: "compile", compiler: process.env.CC ?? "cc" });
    expect((err as NativeBuildError).detail).toContain("missing_symbol");
    expect(readdirSync(join(src, "build"))).toEqual([]);
  });

  it("finds this checkout's native/ directory", () => {
    expect(findNativeDir()).toMatch(/\/native$/);
  });
});
