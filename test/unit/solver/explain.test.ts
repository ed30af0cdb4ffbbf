import { describe, expect, it } from "@jest/globals";
import { sha256, type Digest } from "../../../src/util/digest.js";
import { explainMisses, formatMisses, type BuildRecord, type RecordedStep } from "../../../src/solver/index.js";

/** A step of a hand-made record: its key derives from everything else, as a real key does. */
function step(name: string, o: { instruction?: string; line?: number; explain?: Record<string, unknown>; deps?: RecordedStep["record"]["deps"]; cached?: boolean; evaluated?: boolean; ignoredCache?: true } = {}): RecordedStep {
  const { contextFiles: _files, ...facts } = o.explain ?? {}; // per-file sums are not part of an op digest
  const opDigest = sha256(JSON.stringify({ name: name.replace(/^\[[^\]]*\] /, ""), facts })) as Digest;
  const deps = o.deps ?? [];
  const key = sha256(JSON.stringify({ opDigest, deps })) as Digest;
  return {
    digest: sha256(`${key} ${name}`),
    name,
    cacheKey: key,
    cached: o.cached ?? false,
    evaluated: o.evaluated ?? true,
    ...(o.ignoredCache ? { ignoredCache: true } : {}),
    record: { key, opDigest, deps, ...(o.explain ? { explain: o.explain } : {}) },
    ...(o.instruction !== undefined ? { instruction: o.instruction, line: o.line ?? 1 } : {}),
  };
}

function record(steps: readonly RecordedStep[], o: Partial<BuildRecord> = {}): BuildRecord {
  return { v: 1, time: "2024-01-01T00:00:00.000Z", filename: "Dockerfile", contextDir: "/ctx", noCache: false, noCacheFilter: [], buildArgs: {}, argNames: [], steps, ...o };
}

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;

/** FROM busybox → RUN (env) → COPY (context files) → RUN: the chain of a typical Dockerfile. */
function chain(o: { digest?: string; env?: Record<string, string>; files?: Record<string, string>; command?: string; cached?: Partial<Record<"from" | "run" | "copy" | "last", boolean>> } = {}): BuildRecord {
  const c = o.cached ?? {};
  const from = step(`[1/4] FROM docker.io/library/busybox:latest@${o.digest ?? D1}`, {
    instruction: "FROM busybox", line: 1, cached: c.from,
    explain: { image: `docker.io/library/busybox:latest@${o.digest ?? D1}`, digest: o.digest ?? D1, platform: { os: "linux" } },
  });
  const run = step("[2/4] RUN echo $V", { instruction: "RUN echo $V", line: 3, cached: c.run, explain: { command: "/bin/sh -c echo $V", env: o.env ?? { PATH: "/bin", V: "1" } }, deps: [{ inputKey: from.cacheKey }] });
  const ctx = step("[internal] load build context", { explain: { local: "context" } });
  const files = o.files ?? { "a.txt": "aaaaaaaaaaaaaaaa", "b.txt": "bbbbbbbbbbbbbbbb" };
  const content = sha256(JSON.stringify(files)) as Digest;
  const copy = step("[3/4] COPY . /app", {
    instruction: "COPY . /app", line: 4, cached: c.copy,
    explain: { actions: ["copy / /app"], contextFiles: { "1": files } },
    deps: [{ inputKey: run.cacheKey }, { inputKey: ctx.cacheKey, contentDigest: content, selector: "/" }],
  });
  const last = step("[4/4] RUN make", { instruction: "RUN make", line: 5, cached: c.last, explain: { command: o.command ?? "/bin/sh -c make", env: { PATH: "/bin" } }, deps: [{ inputKey: copy.cacheKey }] });
  return record([ctx, from, run, copy, last], { argNames: ["V"] });
}

const reasons = (now: BuildRecord, before?: BuildRecord): Record<string, string> =>
  Object.fromEntries(explainMisses(now, before).map((m) => [m.step.replace(/@sha256:.*/, ""), m.reason]));

describe("explainMisses", () => {
  it("names a changed context file with its old and new checksum prefix, and the steps after it by their parent", () => {
    const before = chain({ cached: { from: true, run: true } });
    const now = chain({ files: { "a.txt": "cccccccccccccccc", "b.txt": "bbbbbbbbbbbbbbbb", "n.txt": "dddddddddddddddd" }, cached: { from: true, run: true } });
    expect(reasons(now, before)).toEqual({
      "[3/4] COPY . /app": 'file changed: "a.txt" (aaaaaaaaaaaa → cccccccccccc); file added: "n.txt"',
      "[4/4] RUN make": 'parent step "[3/4] COPY . /app" missed',
    });
  });

  it("falls back to the content digests when a record's listing is not a path → checksum map", () => {
    const before = chain({ files: { "a.txt": { listing: "other" } } as unknown as Record<string, string> });
    const now = chain({ files: { "a.txt": "cccccccccccccccc" }, cached: { from: true, run: true } });
    expect(reasons(now, before)["[3/4] COPY . /app"]).toMatch(/^files read from the build context changed \(content /);
  });

  it("names a removed file", () => {
    const now = chain({ files: { "a.txt": "aaaaaaaaaaaaaaaa" }, cached: { from: true, run: true } });
    expect(reasons(now, chain())["[3/4] COPY . /app"]).toBe('file removed: "b.txt"');
  });

  it("names a changed build arg (old → new) and hides secret-looking values", () => {
    const now = chain({ env: { PATH: "/bin", V: "2" }, cached: { from: true } });
    const r = reasons(now, chain());
    expect(r["[2/4] RUN echo $V"]).toBe('build arg V changed: "1" → "2"');
    expect(r["[3/4] COPY . /app"]).toBe('parent step "[2/4] RUN echo $V" missed');
    const secret = record(chain({ env: { PATH: "/bin", V: "1", API_TOKEN: "hidden:aaaa" } }).steps, { buildArgs: { API_TOKEN: "hidden:aaaa" } });
    const secret2 = record(chain({ env: { PATH: "/bin", V: "1", API_TOKEN: "hidden:bbbb" } }).steps, { buildArgs: { API_TOKEN: "hidden:bbbb" } });
    const line = reasons(secret2, secret)["[2/4] RUN echo $V"]!;
    expect(line).toBe("build arg API_TOKEN changed (value hidden)");
    expect(line).not.toContain("bbbb");
  });

  it("calls a variable that is not an ARG an environment variable", () => {
    const now = chain({ env: { PATH: "/usr/bin", V: "1" }, cached: { from: true } });
    expect(reasons(now, chain())["[2/4] RUN echo $V"]).toBe('environment variable PATH changed: "/bin" → "/usr/bin"');
  });

  it("names a base image whose digest moved, on the FROM step and on its first child", () => {
    const r = reasons(chain({ digest: D2 }), chain());
    expect(r["[1/4] FROM docker.io/library/busybox:latest"]).toBe(`base image docker.io/library/busybox:latest moved: ${"1".repeat(12)} → ${"2".repeat(12)}`);
    expect(r["[2/4] RUN echo $V"]).toBe(r["[1/4] FROM docker.io/library/busybox:latest"]);
    expect(r["[3/4] COPY . /app"]).toBe('parent step "[2/4] RUN echo $V" missed');
  });

  it("names --no-cache and --no-cache-filter", () => {
    const nc = (r: BuildRecord, o: Partial<BuildRecord>): BuildRecord => record(r.steps.map((s) => (s.record.explain?.local ? s : { ...s, ignoredCache: true as const })), { argNames: r.argNames, ...o });
    expect(reasons(nc(chain(), { noCache: true }), chain())["[4/4] RUN make"]).toBe("--no-cache: the cache was not used");
    expect(reasons(nc(chain(), { noCacheFilter: ["stage-0"] }), chain())["[4/4] RUN make"]).toBe("--no-cache-filter stage-0: the cache was not used for this stage or for a stage it uses");
  });

  it("says first build without a previous record, and pruned when the same key existed before", () => {
    expect(explainMisses(chain(), undefined).every((m) => m.cause === "first-build")).toBe(true);
    const now = chain({ cached: { from: true, run: true, copy: true } });
    expect(reasons(now, chain())).toEqual({ "[4/4] RUN make": expect.stringContaining("cache record pruned") });
  });

  it("names a changed instruction (matched by its place in the stage) and a new step", () => {
    const before = chain();
    const now = chain({ command: "/bin/sh -c make all", cached: { from: true, run: true, copy: true } });
    const changed = now.steps.map((s) => (s.name === "[4/4] RUN make" ? { ...s, name: "[4/4] RUN make all", instruction: "RUN make all" } : s));
    expect(reasons(record(changed, { argNames: ["V"] }), before)).toEqual({ "[4/4] RUN make all": 'instruction changed: "RUN make" → "RUN make all"' });
    const added = step("[5/5] RUN extra", { instruction: "RUN extra", line: 6, deps: [{ inputKey: now.steps[4]!.cacheKey }] });
    expect(reasons(record([...now.steps.slice(0, 4), { ...now.steps[4]!, cached: true }, added]), before)["[5/5] RUN extra"]).toBe("new step: not in the previous build");
  });

  it("never names a cause that did not change", () => {
    // Only the env of the first RUN changed: no file, no base image, no instruction may be named anywhere.
    const all = explainMisses(chain({ env: { PATH: "/bin", V: "2" }, cached: { from: true } }), chain()).map((m) => m.reason).join("\n");
    expect(all).not.toMatch(/file|base image|instruction|no-cache|first build|pruned/);
  });

  it("does not explain build contexts and steps that were cached or never evaluated", () => {
    const now = chain({ cached: { from: true, run: true, copy: true, last: true } });
    expect(explainMisses(now, chain())).toEqual([]);
    expect(formatMisses([], now)).toBe("explain: all 4 steps cached\n");
  });

  it("formats one line per missed step with the Dockerfile line", () => {
    const now = chain({ env: { PATH: "/bin", V: "2" }, cached: { from: true } });
    const text = formatMisses(explainMisses(now, chain()), now);
    expect(text.split("\n")[0]).toBe("explain: 3 of 4 steps missed the cache");
    expect(text).toContain('  Dockerfile:3 [2/4] RUN echo $V: build arg V changed: "1" → "2"\n');
  });
});
