import { describe, it, expect } from "@jest/globals";
import { checkDockerfile, allRules } from "../../../../src/frontend/index.js";

const rulesOf = async (text: string, opts: Parameters<typeof checkDockerfile>[1] = {}): Promise<string[]> =>
  (await checkDockerfile(text, opts)).findings.map((f) => f.rule);

// Each rule: a Dockerfile that triggers it and one that does not.
const cases: [rule: string, bad: string, good: string][] = [
  ["StageNameCasing", "FROM busybox AS Build\n", "FROM busybox AS build\n"],
  ["FromAsCasing", "FROM busybox as build\n", "FROM busybox AS build\n"],
  ["NoEmptyContinuation", "FROM busybox\nRUN echo a \\\n\n  b\n", "FROM busybox\nRUN echo a \\\n  b\n"],
  ["ConsistentInstructionCasing", "FROM busybox\nrun echo a\nRUN echo b\n", "FROM busybox\nRUN echo a\n"],
  ["ReservedStageName", "FROM busybox AS scratch\n", "FROM busybox AS base\n"],
  ["JSONArgsRecommended", "FROM busybox\nCMD echo hi\n", 'FROM busybox\nCMD ["echo", "hi"]\n'],
  ["MaintainerDeprecated", "FROM busybox\nMAINTAINER me\n", "FROM busybox\nLABEL org.opencontainers.image.authors=me\n"],
  ["UndefinedArgInFrom", "FROM busybox:$TAG\n", "ARG TAG=1\nFROM busybox:$TAG\n"],
  ["WorkdirRelativePath", "FROM busybox\nWORKDIR app\n", "FROM busybox\nWORKDIR /app\nWORKDIR sub\n"],
  ["UndefinedVar", "FROM busybox\nCOPY $SRC /dst\n", "FROM busybox\nARG SRC=a\nCOPY $SRC /dst\n"],
  ["MultipleInstructionsDisallowed", 'FROM busybox\nCMD ["a"]\nCMD ["b"]\n', 'FROM busybox\nCMD ["a"]\nFROM busybox\nCMD ["b"]\n'],
  ["LegacyKeyValueFormat", "FROM busybox\nENV A 1\n", "FROM busybox\nENV A=1\n"],
  ["SecretsUsedInArgOrEnv", "FROM busybox\nARG API_TOKEN\n", "FROM busybox\nARG PUBLIC_KEY\n"],
  ["InvalidDefaultArgInFrom", "ARG TAG\nFROM busybox:${TAG}\n", "ARG TAG=latest\nFROM busybox:${TAG}\n"],
  ["ExposeProtoCasing", "FROM busybox\nEXPOSE 80/TCP\n", "FROM busybox\nEXPOSE 80/tcp\n"],
];

describe("build-check rules", () => {
  it.each(cases)("%s fires on the bad case and not on the good one", async (rule, bad, good) => {
    expect(await rulesOf(bad)).toContain(rule);
    expect(await rulesOf(good)).not.toContain(rule);
  });

  it("DuplicateStageName is reported (the stage table then rejects the file)", async () => {
    const r = await checkDockerfile("FROM busybox AS a\nFROM busybox AS a\n");
    expect(r.findings.map((f) => f.rule)).toContain("DuplicateStageName");
  });

  it("CopyIgnoredFile uses the injected .dockerignore predicate", async () => {
    const isIgnored = (p: string): boolean => p === "secret.txt";
    expect(await rulesOf("FROM busybox\nCOPY secret.txt /s\n", { isIgnored })).toContain("CopyIgnoredFile");
    expect(await rulesOf("FROM busybox\nCOPY public.txt /s\n", { isIgnored })).not.toContain("CopyIgnoredFile");
    expect(await rulesOf("FROM busybox AS b\nFROM busybox\nCOPY --from=b secret.txt /s\n", { isIgnored })).not.toContain("CopyIgnoredFile");
  });

  it("messages and URLs are BuildKit's", async () => {
    const [f] = (await checkDockerfile("FROM busybox\nCMD echo hi\n")).findings;
    expect(f).toMatchObject({
      rule: "JSONArgsRecommended",
      message: "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
      url: "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/",
      level: "warning",
      ranges: [expect.objectContaining({ start: expect.objectContaining({ line: 2 }) })],
    });
    for (const r of Object.values(allRules)) expect(r.url).toMatch(/^https:\/\/docs\.docker\.com\/go\/dockerfile\/rule\/[a-z-]+\/$/);
    const msgs = (await checkDockerfile("ARG TAG=1\nFROM busybox:$TAGG\n")).findings.map((x) => x.message);
    expect(msgs).toContain("FROM argument 'TAGG' is not declared (did you mean TAG?)");
  });

  it("honours # check=skip=… and error=true", async () => {
    const text = "FROM busybox\nMAINTAINER me\nCMD echo hi\n";
    const skipped = await checkDockerfile(`# check=skip=MaintainerDeprecated\n${text}`);
    expect(skipped.findings.map((f) => f.rule)).toEqual(["JSONArgsRecommended"]);
    expect(skipped.failed).toBe(false);
    const strict = await checkDockerfile(`# check=error=true\n${text}`);
    expect(strict.failed).toBe(true);
    expect(strict.findings.every((f) => f.level === "error")).toBe(true);
    expect((await checkDockerfile(`# check=skip=all\n${text}`)).findings).toEqual([]);
  });
});
