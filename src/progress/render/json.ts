import type { ProgressEvent, VertexInfo } from "../events.js";
import type { BuildSummary } from "../summary.js";

/**
 * `--progress=rawjson`: one JSON object per line, for tools. Times are ISO 8601 (UTC, milliseconds). Every vertex
 * event carries the vertex `digest` and `name`. Log chunks are passed through as they come (not split into lines):
 * `text` when the chunk is valid UTF-8, otherwise `data` (base64). The format is documented in README.md.
 */
export class JsonRenderer {
  readonly #out: NodeJS.WritableStream;
  readonly #vertices = new Map<string, VertexInfo>();
  readonly #started = new Map<string, number>();
  readonly #utf8 = new TextDecoder("utf-8", { fatal: true });

  constructor(out: NodeJS.WritableStream) {
    this.#out = out;
  }

  readonly write = (e: ProgressEvent): void => {
    switch (e.type) {
      case "vertex.waiting":
      case "vertex.cached":
      case "vertex.started": {
        this.#vertices.set(e.vertex.digest, e.vertex);
        if (e.type === "vertex.started") this.#started.set(e.vertex.digest, e.time);
        const v = e.vertex;
        this.#emit({
          type: e.type,
          digest: v.digest,
          name: v.name,
          time: iso(e.time),
          ...(v.source && v.source.length > 0 ? { source: v.source } : {}),
          ...(v.hidden ? { hidden: true } : {}),
        });
        return;
      }
      case "vertex.log": {
        let payload: { text: string } | { data: string };
        try {
          payload = { text: this.#utf8.decode(e.data) };
        } catch {
          payload = { data: Buffer.from(e.data).toString("base64") };
        }
        this.#emit({ type: e.type, ...this.#ids(e.digest), time: iso(e.time), stream: e.stream, ...payload });
        return;
      }
      case "vertex.progress":
        this.#emit({
          type: e.type,
          ...this.#ids(e.digest),
          time: iso(e.time),
          id: e.id,
          current: e.current,
          ...(e.total !== undefined ? { total: e.total } : {}),
        });
        return;
      case "vertex.done":
      case "vertex.error": {
        const start = this.#started.get(e.digest);
        this.#emit({
          type: e.type,
          ...this.#ids(e.digest),
          time: iso(e.time),
          ...(start !== undefined ? { started: iso(start), duration_ms: e.time - start } : {}),
          ...(e.type === "vertex.error" ? { error: e.error } : {}),
        });
        return;
      }
      case "warning":
        this.#emit({ type: e.type, time: iso(e.time), message: e.message, ...(e.source ? { source: e.source } : {}) });
        return;
    }
  };

  /** A final `summary` event. */
  summary(s: BuildSummary, time: number): void {
    this.#emit({
      type: "summary",
      time: iso(time),
      ...(s.digest ? { digest: s.digest } : {}),
      tags: s.tags ?? [],
      ...(s.exports ? { exports: s.exports } : {}),
      ...(s.durationMs !== undefined ? { duration_ms: s.durationMs } : {}),
    });
  }

  #ids(digest: string): { digest: string; name?: string } {
    const name = this.#vertices.get(digest)?.name;
    return name === undefined ? { digest } : { digest, name };
  }

  #emit(obj: Record<string, unknown>): void {
    this.#out.write(`${JSON.stringify(obj)}\n`);
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
