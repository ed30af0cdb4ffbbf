/**
 * PAX sparse files in ADD's archives (GNU tar `--format=posix --sparse`), read as Go's archive/tar reads them for
 * moby's untar: the member is a regular file named by `GNU.sparse.name`, `GNU.sparse.realsize` (1.0) or
 * `GNU.sparse.size` (0.1) long, whose data fragments go to the offsets of its sparse map (1.0: decimal lines at the
 * start of the data, padded to 512 bytes; 0.1: the `GNU.sparse.map` record); the rest reads as zeros. tar-stream
 * knows none of this and would extract the raw member under its `GNUSparseFile.<pid>/` placeholder name.
 */
import { open } from "node:fs/promises";
import { FileOpError } from "./file-errors.js";

/** What the PAX records say about a sparse member. */
export interface SparseMember {
  /** The real name (replaces the header's placeholder), when recorded. */
  readonly name: string | undefined;
  readonly realSize: number;
  /** Format 0.1: the map from the PAX record; undefined for 1.0 (the map leads the data). */
  readonly map: ReadonlyArray<readonly [offset: number, length: number]> | undefined;
}

const BLOCK = 512;

function bad(why: string): FileOpError {
  return new FileOpError("TSB_OPS_FILE_ARCHIVE", `invalid sparse file in the archive: ${why}`, { hint: "the archive is corrupt; repack it without --sparse" });
}

function count(s: string | undefined, what: string): number {
  if (s === undefined || !/^[0-9]+$/.test(s)) throw bad(`${what} is ${JSON.stringify(s)}`);
  return Number(s);
}

function pairs(nums: readonly number[]): Array<readonly [number, number]> {
  const out: Array<readonly [number, number]> = [];
  for (let i = 0; i + 1 < nums.length; i += 2) out.push([nums[i]!, nums[i + 1]!]);
  return out;
}

/** The member's sparse description, or undefined when it is not a PAX sparse file (formats 1.0 and 0.1). */
export function sparseMember(pax: Readonly<Record<string, string | undefined>>): SparseMember | undefined {
  const name = pax["GNU.sparse.name"] || undefined;
  if (pax["GNU.sparse.major"] === "1" && pax["GNU.sparse.minor"] === "0") {
    return { name, realSize: count(pax["GNU.sparse.realsize"], "GNU.sparse.realsize"), map: undefined };
  }
  const map = pax["GNU.sparse.map"];
  if (map !== undefined) {
    const nums = map === "" ? [] : map.split(",").map((n) => count(n, "a GNU.sparse.map number"));
    if (nums.length % 2 !== 0) throw bad("GNU.sparse.map has an odd count");
    return { name, realSize: count(pax["GNU.sparse.size"], "GNU.sparse.size"), map: pairs(nums) };
  }
  return undefined;
}

/** Exact-length reads from a stream. */
class Bytes {
  readonly #it: AsyncIterator<Buffer>;
  #buf: Buffer = Buffer.alloc(0);
  constructor(stream: AsyncIterable<Buffer>) {
    this.#it = stream[Symbol.asyncIterator]();
  }
  /** Up to `max` bytes (at least 1); throws at the end of the stream. */
  async some(max: number): Promise<Buffer> {
    while (this.#buf.length === 0) {
      const r = await this.#it.next();
      if (r.done) throw bad("the member's data ends early");
      this.#buf = r.value;
    }
    const out = this.#buf.subarray(0, Math.min(max, this.#buf.length));
    this.#buf = this.#buf.subarray(out.length);
    return out;
  }
  async exactly(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let got = 0; got < n;) {
      const b = await this.some(n - got);
      parts.push(b);
      got += b.length;
    }
    return Buffer.concat(parts);
  }
}

/** Format 1.0: the map at the start of the data, decimal numbers one a line, padded to whole blocks. */
async function readInlineMap(bytes: Bytes): Promise<Array<readonly [number, number]>> {
  let text = "";
  const nums: number[] = [];
  let want: number | undefined;
  while (want === undefined || nums.length < 1 + 2 * want) {
    text += (await bytes.exactly(BLOCK)).toString("latin1");
    const lines = text.split("\n");
    text = lines.pop()!;
    for (const l of lines) {
      if (want !== undefined && nums.length >= 1 + 2 * want) break;
      nums.push(count(l, "a sparse map number"));
      if (nums.length === 1) want = nums[0]!;
    }
    if (text.length > BLOCK * 8 || (want ?? 0) > 1_000_000) throw bad("the sparse map is too long");
  }
  return pairs(nums.slice(1));
}

/** Write the member's expanded content to a new file at `path` (created with `mode`, which must not exist). */
export async function writeSparse(entry: AsyncIterable<Buffer>, path: string, mode: number, member: SparseMember): Promise<void> {
  const bytes = new Bytes(entry);
  const map = member.map ?? (await readInlineMap(bytes));
  const fh = await open(path, "wx", mode);
  try {
    for (const [offset, length] of map) {
      if (offset + length > member.realSize) throw bad(`a fragment ends at ${offset + length}, past the size ${member.realSize}`);
      for (let done = 0; done < length;) {
        const b = await bytes.some(Math.min(length - done, 1 << 20));
        await fh.write(b, 0, b.length, offset + done);
        done += b.length;
      }
    }
    await fh.truncate(member.realSize);
  } finally {
    await fh.close();
  }
}
