/** Peeking at the first bytes of a stream (compression magic) without losing them. */
import { Readable } from "node:stream";
import type { ByteSource } from "../store/index.js";

/** Pull the first `n` bytes (or fewer at EOF) off a byte source; returns them and a stream of the whole source. */
export async function peek(source: ByteSource, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = Buffer.from(r.value);
    parts.push(b);
    len += b.length;
  }
  const head = Buffer.concat(parts);
  async function* all(): AsyncGenerator<Buffer> {
    yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.from(r.value);
    }
  }
  return { head, stream: Readable.from(all()) };
}

