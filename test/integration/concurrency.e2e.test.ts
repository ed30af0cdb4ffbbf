/**
 * Four `tsbuild build` processes of different Dockerfiles on one root at the same time, sharing steps (same base,
 * same RUNs, same context files): all succeed with the right files, the shared steps end up in one cache, and a
 * fifth build of a Dockerfile made of their steps runs nothing at all. The root is consistent afterwards.
 */
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { doctor, importBusybox, rawEvents, requireBundle, sandboxesUnder, startTsbuild, stepNames, tempDir, tsbuild } from "../helpers/cli-e2e.js";

const STAGE_A = `RUN echo a > /a && sleep 0.3\nCOPY shared.txt /shared.txt\n`;
const STAGE_B = `RUN echo b > /b && sleep 0.3\nRUN cat /b /b > /bb\n`;
const STAGE_C = `WORKDIR /w\nCOPY shared.txt c.txt ./\nRUN cat shared.txt c.txt > /c\n`;
const DOCKERFILES: Readonly<Record<string, string>> = {
  a: `FROM busybox\n${STAGE_A}`,
  b: `FROM busybox\n${STAGE_B}`,
  c: `FROM busybox\n${STAGE_C}`,
  // d repeats a, b and c as stages and combines them: its steps race with the three others for the same keys.
  d: `FROM busybox AS a\n${STAGE_A}FROM busybox AS b\n${STAGE_B}FROM busybox AS c\n${STAGE_C}` +
    `FROM busybox\nCOPY --from=a /a /shared.txt /out/\nCOPY --from=b /bb /out/\nCOPY --from=c /c /out/\nRUN ls /out > /out/list\n`,
};

let tmp: string;
let root: string;

beforeAll(async () => {
  requireBundle();
  tmp = await tempDir("concurrency");
  root = join(tmp, "root");
  await importBusybox(root);
}, 60_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function context(name: string, dockerfile: string): Promise<string> {
  const dir = join(tmp, `ctx-${name}`);
  await mkdir(dir);
  await writeFile(join(dir, "Dockerfile"), dockerfile);
  await writeFile(join(dir, "shared.txt"), "shared\n");
  await writeFile(join(dir, "c.txt"), "c\n");
  return dir;
}

describe("parallel builds on one root", () => {
  it("all succeed, share their cache, and a fifth build of their steps is fully cached", async () => {
    const names = Object.keys(DOCKERFILES);
    const dirs = await Promise.all(names.map((n) => context(n, DOCKERFILES[n]!)));
    const builds = names.map((n, i) =>
      startTsbuild(["build", "--progress=rawjson", "--root", root, "-t", `par-${n}`, "-o", `type=local,dest=${join(tmp, `out-${n}`)}`, dirs[i]!]),
    );
    const results = await Promise.all(builds.map((b) => b.done));
    results.forEach((r, i) => {
      if (r.status !== 0) throw new Error(`parallel build ${names[i]} failed (${r.status}):\n${r.stderr.slice(-3000)}`);
    });
    const out = (n: string, p: string): string => readFileSync(join(tmp, `out-${n}`, p), "utf8");
    expect(out("a", "a")).toBe("a\n");
    expect(out("a", "shared.txt")).toBe("shared\n");
    expect(out("b", "bb")).toBe("b\nb\n");
    expect(out("c", "c")).toBe("shared\nc\n");
    expect(out("d", "out/list")).toBe("a\nbb\nc\nlist\nshared.txt\n");
    expect(out("d", "out/c")).toBe("shared\nc\n");

    // The same Dockerfile as d, from another directory with the same files: every step comes from the cache.
    const fifth = tsbuild(["build", "--progress=rawjson", "--root", root, "-o", `type=local,dest=${join(tmp, "out-e")}`, await context("e", DOCKERFILES.d!)]);
    expect(fifth.status).toBe(0);
    const events = rawEvents(fifth.stderr);
    expect([...stepNames(events, "vertex.started")]).toEqual([]);
    expect(stepNames(events, "vertex.cached").size).toBeGreaterThan(0);
    expect(readFileSync(join(tmp, "out-e", "out/list"), "utf8")).toBe("a\nbb\nc\nlist\nshared.txt\n");

    expect(sandboxesUnder(root)).toEqual([]);
    const d = doctor(root);
    if (!d.ok) throw new Error(`doctor after parallel builds:\n${d.raw.stdout}${d.raw.stderr}`);
  }, 120_000);
});
