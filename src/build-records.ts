/**
 * Build records for `--explain`: after every build, what went into each step's cache key is written to
 * `<root>/cache/builds/<id>/<time>.json`, one directory per build context + Dockerfile (the newest few kept), and
 * to `<root>/cache/builds/last.json`. `tsbuild build --explain` and `tsbuild explain` compare the newest two.
 */
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { sha256 } from "./util/digest.js";
import { explainEnv } from "./ops/index.js";
import { loadSelectionFiles } from "./context/index.js";
import { explainMisses, type BuildRecord, type MissExplanation, type RecordedStep, type SolverVertex, type VertexOutcome } from "./solver/index.js";
import { resolveRoot, rootLayout, writeFileAtomic } from "./store/index.js";

/** How many records of one Dockerfile + context are kept. */
const KEEP = 5;

/** The directory holding the records of builds of one Dockerfile in one context. */
export function buildRecordDir(cacheDir: string, contextDir: string, dockerfilePath: string): string {
  const id = sha256(`tsbuild.builds.v1\0${resolve(contextDir)}\0${resolve(dockerfilePath)}`).slice(7, 23);
  return join(cacheDir, "builds", id);
}

/** What {@link makeBuildRecord} needs from a finished solve. */
export interface BuildRecordInput {
  readonly filename: string;
  readonly contextDir: string;
  readonly dockerfileText: string;
  readonly noCache: boolean;
  readonly noCacheFilter: readonly string[];
  readonly buildArgs: Readonly<Record<string, string>>;
  /** The solved graph (for each step's Dockerfile source). */
  readonly root?: SolverVertex;
  readonly steps: readonly VertexOutcome[];
  readonly unevaluated: readonly VertexOutcome[];
}

/** Turn a solve's outcomes into a record: each step with its instruction text and line. */
export function makeBuildRecord(input: BuildRecordInput): BuildRecord {
  const vertices = new Map<string, SolverVertex>();
  const visit = (v: SolverVertex): void => {
    if (vertices.has(v.digest)) return;
    vertices.set(v.digest, v);
    v.inputs.forEach(visit);
  };
  if (input.root) visit(input.root);
  const lines = input.dockerfileText.split(/\r?\n/);
  const step = (o: VertexOutcome, evaluated: boolean): RecordedStep => {
    const range = vertices.get(o.digest)?.source?.[0];
    const instruction = range ? instructionText(lines, range.start.line, range.end.line) : undefined;
    return {
      ...o,
      evaluated,
      ...(instruction !== undefined && range ? { instruction, line: range.start.line } : {}),
    };
  };
  return {
    v: 1,
    time: new Date().toISOString(),
    filename: input.filename,
    contextDir: resolve(input.contextDir),
    noCache: input.noCache,
    noCacheFilter: input.noCacheFilter,
    buildArgs: explainEnv(Object.entries(input.buildArgs).map(([k, v]) => `${k}=${v}`)),
    argNames: argNames(lines),
    steps: [...input.steps.map((o) => step(o, true)), ...input.unevaluated.map((o) => step(o, false))],
  };
}

/** The instruction's text: its physical lines, continuations joined, whitespace collapsed. */
function instructionText(lines: readonly string[], first: number, last: number): string {
  return lines
    .slice(first - 1, last)
    .map((l) => l.replace(/\\\s*$/, "").trim())
    .join(" ")
    .replace(/\s+/g, " ")
    .trim();
}

/** Names declared by ARG instructions (`ARG A=1 B`). */
function argNames(lines: readonly string[]): string[] {
  const names = new Set<string>();
  for (const l of lines) {
    const m = /^\s*arg\s+(.*)$/i.exec(l);
    if (!m) continue;
    for (const w of m[1]!.split(/\s+/)) {
      const n = /^([A-Za-z_][A-Za-z0-9_]*)(=|$)/.exec(w);
      if (n) names.add(n[1]!);
    }
  }
  return [...names].sort();
}

/** Write a record (and `last.json`), keeping the newest few of its Dockerfile + context. */
export async function saveBuildRecord(cacheDir: string, dockerfilePath: string, record: BuildRecord): Promise<void> {
  const dir = buildRecordDir(cacheDir, record.contextDir, dockerfilePath);
  await mkdir(dir, { recursive: true });
  const json = JSON.stringify(record);
  await writeFileAtomic(join(dir, `${record.time.replace(/[:.]/g, "-")}-${process.pid}.json`), json);
  await writeFileAtomic(join(cacheDir, "builds", "last.json"), json);
  const names = await recordNames(dir);
  await Promise.all(names.slice(KEEP).map((n) => rm(join(dir, n), { force: true })));
}

/** Record file names, newest first. */
async function recordNames(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith(".json")).sort().reverse();
}

/** The newest `n` records of builds of this Dockerfile in this context, newest first. */
export async function loadBuildRecords(cacheDir: string, contextDir: string, dockerfilePath: string, n = 2): Promise<BuildRecord[]> {
  const dir = buildRecordDir(cacheDir, contextDir, dockerfilePath);
  const out: BuildRecord[] = [];
  for (const name of await recordNames(dir)) {
    if (out.length >= n) break;
    try {
      const r = JSON.parse(await readFile(join(dir, name), "utf8")) as BuildRecord;
      if (r.v === 1 && Array.isArray(r.steps)) out.push(await withContextFiles(r, cacheDir));
    } catch {
      // a torn or foreign file: skip it
    }
  }
  return out;
}

/**
 * A record whose COPY steps name the context selections they read (`contextFiles: {i: {selections}}`, the cheap form
 * every build records) with those selections' entries loaded from the context room, as `--explain` compares them.
 * A selection whose listing is gone is left as it is (the explanation then names no files).
 */
export async function withContextFiles(record: BuildRecord, cacheDir: string): Promise<BuildRecord> {
  const indexDir = join(cacheDir, "context-index");
  const steps = await Promise.all(
    record.steps.map(async (s) => {
      const all = s.record.explain?.contextFiles as Record<string, unknown> | undefined;
      if (all === undefined || typeof all !== "object" || all === null) return s;
      const files: Record<string, unknown> = {};
      let changed = false;
      for (const [i, v] of Object.entries(all)) {
        const sel = (v as { selections?: unknown } | null)?.selections;
        const loaded = Array.isArray(sel) && sel.every((x) => typeof x === "string") ? await loadSelectionFiles(indexDir, sel) : undefined;
        files[i] = loaded ?? v;
        changed ||= loaded !== undefined;
      }
      return changed ? { ...s, record: { ...s.record, explain: { ...s.record.explain, contextFiles: files } } } : s;
    }),
  );
  return { ...record, steps };
}

/** Options of {@link explainLastBuild}. */
export interface ExplainOptions {
  readonly contextDir: string;
  /** @default CONTEXT/Dockerfile */
  readonly dockerfile?: string;
  /** tsbuild root. @default resolveRoot() */
  readonly root?: string;
}

/** Why the steps of the last build of a Dockerfile missed the cache, compared with the build before it. */
export async function explainLastBuild(opts: ExplainOptions): Promise<{ readonly record?: BuildRecord; readonly previous?: BuildRecord; readonly misses: readonly MissExplanation[] }> {
  const contextDir = resolve(opts.contextDir);
  const dockerfile = opts.dockerfile !== undefined ? resolve(opts.dockerfile) : join(contextDir, "Dockerfile");
  const cacheDir = rootLayout(resolveRoot({ root: opts.root })).cache;
  const [record, previous] = await loadBuildRecords(cacheDir, contextDir, dockerfile, 2);
  if (!record) return { misses: [] };
  return { record, ...(previous ? { previous } : {}), misses: explainMisses(record, previous) };
}
