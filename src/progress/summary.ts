import type { ProgressEvent } from "./events.js";

/** What the caller knows at the end of a build; every renderer except quiet prints it after the steps. */
export interface BuildSummary {
  /** The image id (config digest) or manifest digest of the result. */
  readonly digest?: string;
  /** Names the image was tagged or pushed as. */
  readonly tags?: readonly string[];
  /** Where the result was written (e.g. `oci archive out.tar`). */
  readonly exports?: readonly string[];
  /** Total build time; defaults to the time since the first progress event. */
  readonly durationMs?: number;
}

/** Step counts a renderer keeps from the events it saw (hidden vertices excluded). */
export class StepCounts {
  readonly #seen = new Set<string>();
  readonly #cached = new Set<string>();
  #first: number | undefined;
  #last: number | undefined;

  /** Record one event; call for every event. */
  add(e: ProgressEvent): void {
    this.#first ??= e.time;
    this.#last = e.time;
    if (e.type === "vertex.started" || e.type === "vertex.cached" || e.type === "vertex.waiting") {
      if (e.vertex.hidden) return;
      this.#seen.add(e.vertex.digest);
      if (e.type === "vertex.cached") this.#cached.add(e.vertex.digest);
    }
  }

  get steps(): number {
    return this.#seen.size;
  }

  get cached(): number {
    return this.#cached.size;
  }

  /** Milliseconds from the first event to `now` (or the last event). */
  elapsed(now?: number): number {
    if (this.#first === undefined) return 0;
    return Math.max(0, (now ?? this.#last ?? this.#first) - this.#first);
  }
}

/** `12.3s` under a minute, `2m03s` under an hour, then `1h02m`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${(Math.floor(s * 10) / 10).toFixed(1)}s`;
  const whole = Math.floor(s);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, "0")}m`;
}

/** The summary lines shared by the plain and tty renderers. */
export function formatSummary(s: BuildSummary, counts: StepCounts, now?: number): string[] {
  const ms = s.durationMs ?? counts.elapsed(now);
  const steps = counts.steps;
  const lines = [
    `Build finished in ${formatDuration(ms)}: ${steps} ${steps === 1 ? "step" : "steps"}, ${counts.cached} cached`,
  ];
  if (s.digest) lines.push(`image ${s.digest}`);
  for (const t of s.tags ?? []) lines.push(`tagged ${t}`);
  for (const x of s.exports ?? []) lines.push(`exported ${x}`);
  return lines;
}
