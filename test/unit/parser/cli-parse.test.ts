import { describe, it, expect } from "@jest/globals";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { command } from "../../../src/cli/commands/parse.js";
import { renderError } from "../../../src/cli/render-error.js";

async function run(args: { file: string; dump?: boolean; json?: boolean }): Promise<string> {
  let out = "";
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  try {
    await (command.handler as (a: typeof args) => Promise<void>)(args);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

describe("tsbuild parse", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsbuild-parse-"));
  const good = join(dir, "Dockerfile");
  writeFileSync(good, "FROM alpine\nRUN --network=none echo hi\n");

  it("prints the dump by default and JSON with positions on --json", async () => {
    expect(await run({ file: good })).toBe('(from "alpine")\n(run ["--network=none"] "echo hi")\n');
    const json = JSON.parse(await run({ file: good, json: true }));
    expect(json.nodes[1].range).toEqual({ start: { line: 2, column: 1 }, end: { line: 2, column: 26 } });
    expect(json.text).toBeUndefined();
  });

  it("throws ParseError that renderError draws with file:line:col and a hint", async () => {
    const bad = join(dir, "Bad");
    writeFileSync(bad, "FROM a\nCMD [1]\n");
    const err = await run({ file: bad }).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: "TSB_PARSE_JSON_NOT_STRINGS" });
    let text = "";
    const stderr = { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream;
    expect(await renderError(err, { debug: false, stderr })).toBe(1);
    expect(text).toContain(`${bad}:2:1: when using JSON array syntax`);
    expect(text).toContain(">>> 2 | CMD [1]");
    expect(text).toContain("hint: ");
  });

  it("reports a missing file as a usage error", async () => {
    await expect(run({ file: join(dir, "missing") })).rejects.toMatchObject({ code: "TSB_USAGE" });
  });
});
