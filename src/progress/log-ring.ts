import { TextDecoder } from "node:util";
import type { ProgressEvent, ProgressSink, VertexInfo } from "./events.js";
import { sanitizeLine } from "./render/text.js";

/** A vertex as the ring remembers it: what it is, and whether it was still running when last seen. */
export interface TrackedVertex {
  readonly vertex: VertexInfo;
  readonly state: "waiting" | "running" | "cached" | "done" | "error" | "cancelled";
  /** When it started running (ms since epoch), if it did. */
  readonly started?: number;
  /** When it finished, failed or was cancelled. */
  readonly ended?: number;
}

/**
 * The last `size` log lines of every vertex (safe to print: escape sequences and control characters removed), and
 * the state of every vertex. The failure display reads it for the failing step's tail and, on Ctrl-C, for what was
 * running. Full, unclipped logs go to {@link createLogFiles}.
 */
export class LogRing {
  readonly #size: number;
  readonly #lines = new Map<string, string[]>();
  readonly #partial = new Map<string, string>();
  readonly #vertices = new Map<string, TrackedVertex>();
  readonly #decoders = new Map<string, TextDecoder>();

  /** @param size lines kept per vertex. @default 20 */
  constructor(size = 20) {
    this.#size = Math.max(1, size);
  }

  /** The progress sink to tee events into. */
  readonly write: ProgressSink = (e: ProgressEvent): void => {
    switch (e.type) {
      case "vertex.waiting":
        if (!this.#vertices.has(e.vertex.digest)) this.#vertices.set(e.vertex.digest, { vertex: e.vertex, state: "waiting" });
        return;
      case "vertex.started":
        this.#vertices.set(e.vertex.digest, { vertex: e.vertex, state: "running", started: e.time });
        return;
      case "vertex.cached":
        this.#vertices.set(e.vertex.digest, { vertex: e.vertex, state: "cached" });
        return;
      case "vertex.log":
        this.#append(e.digest, decoderFor(this.#decoders, e.digest).decode(e.data, { stream: true }));
        return;
      case "vertex.done":
      case "vertex.error": {
        this.#decoders.delete(e.digest);
        const rest = this.#partial.get(e.digest);
        if (rest) this.#push(e.digest, rest);
        this.#partial.delete(e.digest);
        const v = this.#vertices.get(e.digest);
        const state = e.type === "vertex.done" ? "done" : e.error === "cancelled" ? "cancelled" : "error";
        if (v) this.#vertices.set(e.digest, { ...v, state, ended: e.time });
        return;
      }
      case "vertex.progress":
      case "warning":
        return;
    }
  };

  /** The last lines of a vertex's log (a trailing partial line included), oldest first. */
  tail(digest: string): readonly string[] {
    const lines = this.#lines.get(digest) ?? [];
    const rest = this.#partial.get(digest);
    const all = rest ? [...lines, sanitizeLine(rest)] : [...lines];
    return all.slice(-this.#size);
  }

  /** Vertices that were running when the build stopped: still running, or cancelled (what an interrupt stopped). */
  interrupted(): readonly TrackedVertex[] {
    return [...this.#vertices.values()].filter((v) => v.state === "running" || v.state === "cancelled");
  }

  /** The vertex with this digest, if it was seen. */
  vertex(digest: string): TrackedVertex | undefined {
    return this.#vertices.get(digest);
  }

  #append(digest: string, text: string): void {
    const parts = ((this.#partial.get(digest) ?? "") + text).split("\n");
    this.#partial.set(digest, parts.pop()!);
    for (const p of parts) this.#push(digest, p);
  }

  #push(digest: string, raw: string): void {
    let lines = this.#lines.get(digest);
    if (!lines) this.#lines.set(digest, (lines = []));
    lines.push(sanitizeLine(raw));
    if (lines.length > this.#size) lines.splice(0, lines.length - this.#size);
  }
}

/** One streaming UTF-8 decoder per vertex, so a character split across two chunks decodes whole. */
export function decoderFor(decoders: Map<string, TextDecoder>, digest: string): TextDecoder {
  let d = decoders.get(digest);
  if (!d) decoders.set(digest, (d = new TextDecoder()));
  return d;
}
