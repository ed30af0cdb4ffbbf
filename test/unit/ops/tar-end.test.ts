import { describe, expect, it } from "@jest/globals";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { endAtArchiveMarker } from "../../../src/ops/tar-end.js";

async function archive(names: readonly string[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const n of names) pack.entry({ name: n }, `${n}\n`);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The member names and contents an extract (hooked or not) reads from `data`, fed in `chunk`-byte pieces. */
async function read(data: Buffer, hook: boolean, chunk = data.length): Promise<string[]> {
  const ex = hook ? endAtArchiveMarker(tar.extract()) : tar.extract();
  const pieces: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) pieces.push(data.subarray(i, i + chunk));
  const feeding = pipeline(Readable.from(pieces), ex);
  feeding.catch(() => {}); // awaited below; the loop may throw first
  const out: string[] = [];
  for await (const e of ex) {
    const parts: Buffer[] = [];
    for await (const c of e) parts.push(c as Buffer);
    out.push(`${e.header.name}=${Buffer.concat(parts).toString().trim()}`);
  }
  await feeding;
  return out;
}

describe("the end-of-archive marker (Go's archive/tar stops at two zero blocks)", () => {
  it("ignores junk and a second archive after the marker, whatever the chunking", async () => {
    const a = await archive(["a", "b"]);
    const junk = Buffer.concat([a, Buffer.from("trailing junk after the archive"), await archive(["c"])]);
    await expect(read(junk, false)).rejects.toThrow(); // tar-stream alone reads on into the junk
    for (const chunk of [junk.length, 512, 700, 1]) expect(await read(junk, true, chunk)).toEqual(["a=a", "b=b"]);
  });

  it("reads a plain archive, and one ending after a single zero block, as before", async () => {
    const a = await archive(["a", "b"]);
    expect(await read(a, true)).toEqual(["a=a", "b=b"]);
    const oneZero = a.subarray(0, a.length - 512);
    expect(await read(oneZero, true, 512)).toEqual(await read(oneZero, false, 512));
  });
});
