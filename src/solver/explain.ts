/**
 * `--explain`: why each step of a build missed the cache, from two build records (this build and the previous build
 * of the same Dockerfile and context). Pure: records in, one line of reason per missed step out.
 *
 * Exactness: every reason names something that differs between the two records (a fact of the op, an input's cache
 * key, a file's checksum) or a fact of this build (`--no-cache`, no earlier record, a key that existed but whose
 * result is gone). Nothing is guessed: when only the key shows a difference, the reason says so.
 */
import type { Digest } from "../util/digest.js";
import type { CacheKeyRecord } from "./types.js";

/** One step of a recorded build. */
export interface RecordedStep {
  readonly digest: string;
  readonly name: string;
  readonly cacheKey: Digest;
  /** Whether the result came from the cache (true too for steps never evaluated because a dependent hit). */
  readonly cached: boolean;
  /** False when only the key was computed (a dependent step hit the cache). */
  readonly evaluated: boolean;
  readonly ignoredCache?: true;
  readonly record: CacheKeyRecord;
  /** The Dockerfile text of the step's instruction, when it comes from one. */
  readonly instruction?: string;
  /** First Dockerfile line of the instruction. */
  readonly line?: number;
}

/** What a build leaves behind for `--explain` (JSON, version 1). */
export interface BuildRecord {
  readonly v: 1;
  readonly time: string;
  readonly filename: string;
  readonly contextDir: string;
  readonly noCache: boolean;
  readonly noCacheFilter: readonly string[];
  /** `--build-arg` values as given (secret-looking ones only as `hidden:<hash>`). */
  readonly buildArgs: Readonly<Record<string, string>>;
  /** Names declared by ARG in the Dockerfile. */
  readonly argNames: readonly string[];
  readonly steps: readonly RecordedStep[];
}

/** The kind of cause of a miss (the first one when a line names several). */
export type MissCause =
  | "no-cache"
  | "no-cache-filter"
  | "first-build"
  | "pruned"
  | "new-step"
  | "instruction"
  | "base-image"
  | "build-arg"
  | "env"
  | "definition"
  | "file"
  | "parent"
  | "input";

/** Why one step missed the cache. */
export interface MissExplanation {
  readonly step: string;
  readonly line?: number;
  readonly cause: MissCause;
  /** One line, e.g. `file changed: src/a.txt (1a2b3c4d5e6f → 9f8e7d6c5b4a)`. */
  readonly reason: string;
}

/** Prefix of values recorded only as a hash (see src/ops/explain-facts.ts). */
const HIDDEN = "hidden:";
/** How many reasons one line names at most. */
const MAX_REASONS = 3;

interface Reason {
  readonly cause: MissCause;
  readonly text: string;
}

type Facts = Readonly<Record<string, unknown>>;

/** Steps that can never be cached (build contexts, downloads): they run every time and are not explained. */
function uncacheable(s: RecordedStep): boolean {
  const e = s.record.explain;
  return e !== undefined && ("local" in e || "url" in e);
}

const STEP_NAME = /^\[(?:(\S+) )?(\d+)\/\d+\]/;

/** Stage and index of a step from its display name (`[build 2/5] RUN make` → `build`, 2). */
function slotOf(s: RecordedStep): { stage: string; index: number } | undefined {
  const m = STEP_NAME.exec(s.name);
  return m ? { stage: m[1] ?? "", index: Number(m[2]) } : undefined;
}

/** Identity of a step across builds: stage + instruction text (or its name when it has no instruction). */
function identityOf(s: RecordedStep): string {
  const slot = slotOf(s);
  return s.instruction !== undefined ? `${slot?.stage ?? ""}\0${s.instruction}` : `\0${s.name}`;
}

const short = (d: string | undefined): string => (d === undefined ? "none" : d.replace(/^sha256:/, "").slice(0, 12));
const quote = (s: unknown): string => (typeof s === "string" ? JSON.stringify(s) : JSON.stringify(s) ?? "none");
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Explain every step of `current` that missed the cache, comparing with `previous` (undefined: first build). */
export function explainMisses(current: BuildRecord, previous: BuildRecord | undefined): MissExplanation[] {
  const byKey = new Map<string, RecordedStep>();
  for (const s of current.steps) if (!byKey.has(s.cacheKey)) byKey.set(s.cacheKey, s);
  const match = previous ? matcher(current, previous) : undefined;
  const memo = new Map<string, Reason[]>();

  const reasonsOf = (s: RecordedStep): Reason[] => {
    const known = memo.get(s.digest);
    if (known) return known;
    memo.set(s.digest, []); // cycles are impossible in a DAG; this only guards against malformed records
    const r = explainStep(s, current, previous, match, byKey, reasonsOf);
    memo.set(s.digest, r);
    return r;
  };

  const out: MissExplanation[] = [];
  for (const s of current.steps) {
    if (s.cached || !s.evaluated || uncacheable(s)) continue;
    const reasons = reasonsOf(s);
    const shown = reasons.slice(0, MAX_REASONS).map((r) => r.text);
    if (reasons.length > MAX_REASONS) shown.push(`and ${reasons.length - MAX_REASONS} more`);
    out.push({ step: s.name, ...(s.line !== undefined ? { line: s.line } : {}), cause: reasons[0]?.cause ?? "input", reason: shown.join("; ") });
  }
  return out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/** Pairs each current step with its counterpart in the previous build (same identity, k-th occurrence). */
function matcher(current: BuildRecord, previous: BuildRecord): (s: RecordedStep) => { step?: RecordedStep; bySlot: boolean } {
  const prevById = new Map<string, RecordedStep[]>();
  const prevBySlot = new Map<string, RecordedStep>();
  for (const p of dedupe(previous.steps)) {
    const id = identityOf(p);
    prevById.set(id, [...(prevById.get(id) ?? []), p]);
    const slot = slotOf(p);
    if (slot) prevBySlot.set(`${slot.stage}\0${slot.index}`, p);
  }
  const pairs = new Map<string, { step?: RecordedStep; bySlot: boolean }>();
  const seen = new Map<string, number>();
  for (const s of dedupe(current.steps)) {
    const id = identityOf(s);
    const k = seen.get(id) ?? 0;
    seen.set(id, k + 1);
    const p = prevById.get(id)?.[k];
    if (p) {
      pairs.set(s.digest, { step: p, bySlot: false });
      continue;
    }
    const slot = slotOf(s);
    const q = slot ? prevBySlot.get(`${slot.stage}\0${slot.index}`) : undefined;
    pairs.set(s.digest, q ? { step: q, bySlot: true } : { bySlot: false });
  }
  return (s) => pairs.get(s.digest) ?? { bySlot: false };
}

/** Steps in record order, one per digest, ordered by Dockerfile line (steps without one keep their place first). */
function dedupe(steps: readonly RecordedStep[]): RecordedStep[] {
  const seen = new Set<string>();
  const out = steps.filter((s) => !seen.has(s.digest) && seen.add(s.digest));
  return out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (slotOf(a)?.index ?? 0) - (slotOf(b)?.index ?? 0));
}

function explainStep(
  s: RecordedStep,
  current: BuildRecord,
  previous: BuildRecord | undefined,
  match: ReturnType<typeof matcher> | undefined,
  byKey: ReadonlyMap<string, RecordedStep>,
  reasonsOf: (s: RecordedStep) => Reason[],
): Reason[] {
  if (s.ignoredCache) {
    return current.noCache
      ? [{ cause: "no-cache", text: "--no-cache: the cache was not used" }]
      : [{ cause: "no-cache-filter", text: `--no-cache-filter ${current.noCacheFilter.join(",")}: the cache was not used for this stage or for a stage it uses` }];
  }
  if (!previous || !match) return [{ cause: "first-build", text: "first build of this Dockerfile and context (no earlier build record)" }];
  if (previous.steps.some((p) => p.cacheKey === s.cacheKey)) {
    return [{ cause: "pruned", text: `cache record pruned: the previous build had this step with the same key (${short(s.cacheKey)}), its result is no longer stored` }];
  }
  const { step: p, bySlot } = match(s);
  if (!p) return [{ cause: "new-step", text: "new step: not in the previous build" }];
  const reasons: Reason[] = [];
  if (bySlot && p.instruction !== s.instruction) {
    reasons.push({ cause: "instruction", text: `instruction changed: ${quote(p.instruction ?? p.name)} → ${quote(s.instruction ?? s.name)}` });
  }
  if (s.record.opDigest !== p.record.opDigest) reasons.push(...factReasons(s.record.explain ?? {}, p.record.explain ?? {}, current, previous, bySlot));
  reasons.push(...depReasons(s, p, byKey, reasonsOf));
  if (reasons.length === 0) reasons.push({ cause: "input", text: `cache key changed (${short(p.cacheKey)} → ${short(s.cacheKey)})` });
  return reasons;
}

/** Facts of an image source (FROM): its reference and the manifest digest it resolved to. */
function isImageSource(f: Facts): boolean {
  return typeof f.image === "string" && typeof f.digest === "string";
}

/** An image reference without the digest the frontend pinned (`busybox:latest@sha256:…` → `busybox:latest`). */
function imageName(ref: unknown): string {
  return typeof ref === "string" ? ref.replace(/@sha256:[0-9a-f]{64}$/, "") : "none";
}

/** Reasons from the op's own facts (the op digest differs). */
function factReasons(now: Facts, before: Facts, current: BuildRecord, previous: BuildRecord, bySlot: boolean): Reason[] {
  const out: Reason[] = [];
  if (isImageSource(now) || isImageSource(before)) {
    const [a, b] = [imageName(before.image), imageName(now.image)];
    if (a !== b) out.push({ cause: "base-image", text: `base image changed: ${quote(a)} → ${quote(b)}` });
    else if (!same(now.digest, before.digest)) {
      out.push({ cause: "base-image", text: `base image ${b} moved: ${short(before.digest as string)} → ${short(now.digest as string)}` });
    }
  }
  out.push(...envReasons(now.env, before.env, current, previous));
  for (const key of [...new Set([...Object.keys(now), ...Object.keys(before)])].sort()) {
    if (["digest", "image", "resolved", "env", "contextFiles"].includes(key) || same(now[key], before[key])) continue;
    if ((key === "command" || key === "actions") && bySlot) continue; // already said: the instruction changed
    out.push({ cause: "definition", text: `${key} changed: ${quote(before[key])} → ${quote(now[key])}` });
  }
  if (out.length === 0 && !bySlot) out.push({ cause: "definition", text: "the step's definition changed (in options the record does not list)" });
  return out;
}

function envReasons(now: unknown, before: unknown, current: BuildRecord, previous: BuildRecord): Reason[] {
  const a = (typeof before === "object" && before !== null ? before : {}) as Record<string, string>;
  const b = (typeof now === "object" && now !== null ? now : {}) as Record<string, string>;
  const args = new Set([...current.argNames, ...previous.argNames, ...Object.keys(current.buildArgs), ...Object.keys(previous.buildArgs)]);
  const out: Reason[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (a[k] === b[k]) continue;
    const isArg = args.has(k);
    const what = isArg ? `build arg ${k}` : `environment variable ${k}`;
    const hidden = a[k]?.startsWith(HIDDEN) || b[k]?.startsWith(HIDDEN);
    const text =
      a[k] === undefined ? `${what} added${hidden ? " (value hidden)" : `: ${quote(b[k])}`}`
      : b[k] === undefined ? `${what} removed${hidden ? " (value hidden)" : ` (was ${quote(a[k])})`}`
      : hidden ? `${what} changed (value hidden)`
      : `${what} changed: ${quote(a[k])} → ${quote(b[k])}`;
    out.push({ cause: isArg ? "build-arg" : "env", text });
  }
  return out;
}

/** Reasons from the inputs: files read from the context, or a parent step with a different key. */
function depReasons(s: RecordedStep, p: RecordedStep, byKey: ReadonlyMap<string, RecordedStep>, reasonsOf: (s: RecordedStep) => Reason[]): Reason[] {
  const now = s.record.deps;
  const before = p.record.deps;
  if (now.length !== before.length) return [{ cause: "input", text: `number of inputs changed: ${before.length} → ${now.length}` }];
  const out: Reason[] = [];
  now.forEach((d, i) => {
    const o = before[i]!;
    if (d.contentDigest !== undefined || o.contentDigest !== undefined) {
      if (d.contentDigest !== o.contentDigest) out.push(...fileReasons(s, p, i, o.contentDigest, d.contentDigest));
      return;
    }
    if (d.inputKey === o.inputKey) return;
    const parent = byKey.get(d.inputKey);
    if (!parent) {
      out.push({ cause: "input", text: `input ${i} changed (key ${short(o.inputKey)} → ${short(d.inputKey)})` });
    } else if (!parent.cached) {
      const inherited = isImageSource(parent.record.explain ?? {}) ? reasonsOf(parent).find((r) => r.cause === "base-image") : undefined;
      out.push(inherited ?? { cause: "parent", text: `parent step ${quote(parent.name)} missed` });
    } else {
      out.push({ cause: "parent", text: `parent step ${quote(parent.name)} has a different result than in the previous build (an older cached one)` });
    }
  });
  return out;
}

/** Which context entries changed between the two records of input `i`. */
function fileReasons(s: RecordedStep, p: RecordedStep, i: number, before: Digest | undefined, now: Digest | undefined): Reason[] {
  const files = (st: RecordedStep): Record<string, string> | undefined => {
    const all = st.record.explain?.contextFiles as Record<string, unknown> | undefined;
    const f = all?.[String(i)];
    // A listing maps paths to digest strings; anything else (a count, a record of another version) is not one.
    if (typeof f !== "object" || f === null || "count" in f) return undefined;
    return Object.values(f).every((v) => typeof v === "string") ? (f as Record<string, string>) : undefined;
  };
  const a = files(p);
  const b = files(s);
  const generic: Reason = { cause: "file", text: `files read from the build context changed (content ${short(before)} → ${short(now)})` };
  if (!a || !b) return [generic];
  const out: Reason[] = [];
  const show = (path: string): string => JSON.stringify(path === "" ? "." : path);
  for (const path of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[path];
    const y = b[path];
    if (x === y) continue;
    if (x === undefined) out.push({ cause: "file", text: `file added: ${show(path)}` });
    else if (y === undefined) out.push({ cause: "file", text: `file removed: ${show(path)}` });
    else if (x.startsWith("dir ") || y.startsWith("dir ")) out.push({ cause: "file", text: `${show(path)} changed: ${x} → ${y}` });
    else out.push({ cause: "file", text: `file changed: ${show(path)} (${short(x)} → ${short(y)})` });
  }
  return out.length > 0 ? out : [generic];
}

/** The explanation as the CLI prints it (after a build, or by `tsbuild explain`). */
export function formatMisses(misses: readonly MissExplanation[], record: BuildRecord): string {
  const steps = new Set(record.steps.filter((s) => !uncacheable(s)).map((s) => s.digest)).size;
  const n = (k: number): string => `${k} step${k === 1 ? "" : "s"}`;
  if (misses.length === 0) return `explain: all ${n(steps)} cached\n`;
  let s = `explain: ${misses.length} of ${n(steps)} missed the cache\n`;
  for (const m of misses) s += `  ${m.line !== undefined ? `${record.filename}:${m.line} ` : ""}${m.step}: ${m.reason}\n`;
  return s;
}
