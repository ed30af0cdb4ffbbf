/**
 * Progress of an export as one vertex (`exporting to image`, `exporting to client directory`, …), the way BuildKit
 * shows its exporter: sub-steps are `vertex.progress` events on that vertex.
 */
import { randomUUID } from "node:crypto";
import type { ProgressSink } from "../progress/events.js";
import { sha256 } from "../util/digest.js";

/** Where an export reports to: a sink, and optionally a vertex the caller already started (and will finish). */
export interface ExportProgressOptions {
  readonly progress?: ProgressSink | undefined;
  /** Digest of a vertex started by the caller; when absent the exporter starts and finishes its own. */
  readonly vertex?: string | undefined;
}

/** One export vertex. `finish()` marks it done (or failed) when the exporter owns it. */
export class ExportVertex {
  readonly digest: string;
  readonly #sink: ProgressSink | undefined;
  readonly #owned: boolean;
  readonly #started = new Map<string, number>();

  constructor(opts: ExportProgressOptions, name: string) {
    this.#sink = opts.progress;
    this.#owned = opts.vertex === undefined;
    this.digest = opts.vertex ?? sha256(`tsbuild.exporter ${name} ${randomUUID()}`);
    if (this.#owned) this.#sink?.({ type: "vertex.started", vertex: { digest: this.digest, name }, time: Date.now() });
  }

  /**
   * Report a sub-step (`exporting layer sha256:…`) as a status: it starts when first reported and is done once
   * `current` reaches `total`. The counts only say when it is done; renderers show the duration, as BuildKit does.
   */
  step(id: string, current: number, total?: number): void {
    if (!this.#sink) return;
    const time = Date.now();
    let started = this.#started.get(id);
    if (started === undefined) this.#started.set(id, (started = time));
    const completed = total !== undefined && current >= total;
    this.#sink({ type: "vertex.progress", digest: this.digest, id, current: 0, completed, started, time });
  }

  /** Run `fn`, then mark the vertex done, or failed with the error's message (rethrown). */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const result = await fn();
      if (this.#owned) this.#sink?.({ type: "vertex.done", digest: this.digest, time: Date.now() });
      return result;
    } catch (err) {
      // An abort (Ctrl-C) shows as CANCELED, as the solver's steps do.
      const error = isAbort(err) ? "cancelled" : err instanceof Error ? err.message : String(err);
      if (this.#owned) this.#sink?.({ type: "vertex.error", digest: this.digest, error, time: Date.now() });
      throw err;
    }
  }
}

/** An AbortSignal's abort as Node's APIs throw it (AbortError / ABORT_ERR) or as a plain DOMException. */
function isAbort(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown } | null;
  return typeof e === "object" && e !== null && (e.name === "AbortError" || e.code === "ABORT_ERR");
}
