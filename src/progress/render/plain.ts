import { TextDecoder } from "node:util";
import type { ProgressEvent, VertexInfo } from "../events.js";
import { decoderFor } from "../log-ring.js";

/**
 * BuildKit-style plain progress: stable, greppable lines for CI logs.
 *   #3 [build 2/4] RUN make
 *   #3 0.214 compiling...
 *   #3 DONE 1.2s
 *   #4 [build 3/4] COPY . /app
 *   #4 CACHED
 * Log lines are split on newlines; a partial line is held until its newline or the vertex ends.
 */
export class PlainRenderer {
  readonly #out: NodeJS.WritableStream;
  readonly #ids = new Map<string, number>();
  readonly #started = new Map<string, number>();
  readonly #partial = new Map<string, string>();
  /** One streaming decoder per vertex: a UTF-8 character split across two chunks is decoded whole. */
  readonly #decoders = new Map<string, TextDecoder>();
  readonly #lastId: { value: number } = { value: 0 };
  #current: string | undefined;

  constructor(out: NodeJS.WritableStream) {
    this.#out = out;
  }

  readonly write = (e: ProgressEvent): void => {
    switch (e.type) {
      case "vertex.waiting":
        // Plain output is append-only: a step gets its header when it starts or is found cached.
        return;
      case "vertex.started": {
        if (e.vertex.hidden) return;
        this.#started.set(e.vertex.digest, e.time);
        this.#header(e.vertex);
        return;
      }
      case "vertex.cached": {
        if (e.vertex.hidden) return;
        const n = this.#header(e.vertex);
        this.#line(`#${n} CACHED\n`, e.vertex.digest);
        this.#gap();
        return;
      }
      case "vertex.log": {
        const n = this.#ids.get(e.digest);
        if (n === undefined) return;
        const start = this.#started.get(e.digest) ?? e.time;
        const text = (this.#partial.get(e.digest) ?? "") + decoderFor(this.#decoders, e.digest).decode(e.data, { stream: true });
        const lines = text.split("\n");
        this.#partial.set(e.digest, lines.pop()!);
        const ts = ((e.time - start) / 1000).toFixed(3);
        for (const l of lines) this.#line(`#${n} ${ts} ${l.replace(/\r$/, "")}\n`, e.digest);
        return;
      }
      case "vertex.progress": {
        const n = this.#ids.get(e.digest);
        if (n === undefined) return;
        if (e.completed !== undefined) {
          // A status, printed once done as BuildKit's plain printer does: bytes only when counted, then duration.
          if (!e.completed) return;
          const bytes = e.total ? ` ${formatBytes(e.current)} / ${formatBytes(e.total)}` : e.current ? ` ${formatBytes(e.current)}` : "";
          const secs = e.started !== undefined ? (e.time - e.started) / 1000 : 0;
          this.#line(`#${n} ${e.id}${bytes}${secs > 0.01 ? ` ${secs.toFixed(1)}s` : ""} done\n`, e.digest);
          return;
        }
        if (e.total === undefined || e.current < e.total) return;
        this.#line(`#${n} ${e.id} ${formatBytes(e.total)} done\n`, e.digest);
        return;
      }
      case "vertex.done": {
        const n = this.#ids.get(e.digest);
        if (n === undefined) return;
        this.#flushPartial(e.digest, n, e.time);
        const start = this.#started.get(e.digest) ?? e.time;
        this.#line(`#${n} DONE ${((e.time - start) / 1000).toFixed(1)}s\n`, e.digest);
        this.#gap();
        return;
      }
      case "vertex.error": {
        const n = this.#ids.get(e.digest);
        if (n === undefined) return;
        this.#flushPartial(e.digest, n, e.time);
        this.#line(e.error === "cancelled" ? `#${n} CANCELED\n` : `#${n} ERROR: ${e.error}\n`, e.digest);
        this.#gap();
        return;
      }
      case "warning": {
        this.#out.write(`WARNING: ${e.message}\n`);
        return;
      }
    }
  };

  #header(v: VertexInfo): number {
    let n = this.#ids.get(v.digest);
    if (n === undefined) {
      n = ++this.#lastId.value;
      this.#ids.set(v.digest, n);
      this.#line(`#${n} ${v.name}\n`, v.digest);
    }
    return n;
  }

  #flushPartial(digest: string, n: number, time: number): void {
    const rest = this.#partial.get(digest);
    if (rest) {
      const ts = ((time - (this.#started.get(digest) ?? time)) / 1000).toFixed(3);
      this.#line(`#${n} ${ts} ${rest}\n`, digest);
    }
    this.#partial.delete(digest);
  }

  /** A blank line between vertices when output switches from one vertex to another, as BuildKit prints. */
  #line(s: string, digest: string): void {
    if (this.#current !== undefined && this.#current !== digest) this.#out.write("\n");
    this.#current = digest;
    this.#out.write(s);
  }

  #gap(): void {
    // Next vertex output starts after a blank line.
    if (this.#current !== undefined) {
      this.#out.write("\n");
      this.#current = undefined;
    }
  }
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n}B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)}${units[i]}`;
}
