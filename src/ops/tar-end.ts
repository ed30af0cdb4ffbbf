/**
 * The end of an ADD archive as Go's archive/tar (and so moby's untar) sees it: two zero blocks end the archive and
 * whatever follows them (junk appended to a tar, another archive) is never read. tar-stream reads on past them and
 * fails on the junk, so an instance-level hook on tar-stream 3.2's extract (pinned exactly; covered by
 * test/unit/ops/tar-end.test.ts) notices the second zero block, drops what is buffered and ignores later input.
 */
import type tar from "tar-stream";

/** The tar-stream 3.2 internals the hook relies on. */
interface ExtractInternals {
  _header: object | null;
  _buffer: { readonly buffered: number; shift(size: number): unknown };
  _consumeHeader(): boolean;
  _write(data: Buffer, cb: (err?: Error | null) => void): void;
}

/** Make `extract` stop at the end-of-archive marker (two consecutive zero blocks where a header belongs). */
export function endAtArchiveMarker(extract: tar.Extract): tar.Extract {
  const x = extract as unknown as ExtractInternals;
  const consume = x._consumeHeader.bind(extract);
  const write = x._write.bind(extract);
  let zeros = 0;
  let ended = false;
  x._consumeHeader = (): boolean => {
    if (ended) return true;
    const ok = consume();
    if (!ok) return ok;
    zeros = x._header === null ? zeros + 1 : 0;
    if (zeros === 2) {
      ended = true;
      if (x._buffer.buffered > 0) x._buffer.shift(x._buffer.buffered);
    }
    return ok;
  };
  x._write = (data, cb): void => (ended ? cb(null) : write(data, cb));
  return extract;
}
