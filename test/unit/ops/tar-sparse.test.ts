import { afterAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { sparseMember, writeSparse } from "../../../src/ops/tar-sparse.js";
import { requireTool } from "../../helpers/base-images.js";

const dir = mkdtempSync(join(tmpdir(), "tsb-sparse-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** GNU tar's PAX sparse archive (format `version`) of a file with holes, an all-hole file and a plain one. */
function sparseTar(version: string): Buffer {
  requireTool("tar", "tar");
  const src = join(dir, `src-${version}`);
  execFileSync("sh", ["-ec", `mkdir -p ${src} && cd ${src} && truncate -s 1M holes && printf data | dd of=holes bs=1 seek=524288 conv=notrunc 2>/dev/null
    printf end >> holes && truncate -s 200K allzero && printf 'plain\\n' > plain.txt`]);
  return execFileSync("tar", ["--format=posix", `--sparse-version=${version}`, "-S", "-C", src, "-cf", "-", "holes", "allzero", "plain.txt"], { maxBuffer: 1 << 24 });
}

/** Each member as moby's untar (Go's archive/tar) would write it: name → content. */
async function extract(archive: Buffer, out: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const ex = tar.extract();
  Readable.from([archive]).pipe(ex);
  for await (const entry of ex) {
    const member = sparseMember((entry.header.pax ?? {}) as Record<string, string>);
    const name = member?.name ?? entry.header.name;
    const path = join(out, name);
    if (member) await writeSparse(entry as AsyncIterable<Buffer>, path, 0o644, member);
    else {
      const chunks: Buffer[] = [];
      for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
      writeFileSync(path, Buffer.concat(chunks));
    }
    entry.resume();
    files.set(name, readFileSync(path));
  }
  return files;
}

describe("PAX sparse members of ADD's archives (GNU tar --sparse, as Go's archive/tar reads them)", () => {
  for (const version of ["1.0", "0.1"]) {
    it(`expands format ${version} under its real name`, async () => {
      const out = mkdtempSync(join(dir, "out-"));
      const files = await extract(sparseTar(version), out);
      const src = join(dir, `src-${version}`);
      expect([...files.keys()]).toEqual(["holes", "allzero", "plain.txt"]);
      for (const [name, data] of files) expect(data.equals(readFileSync(join(src, name)))).toBe(true);
    });
  }

  it("reads the records: 1.0 keeps its map in the data, 0.1 in GNU.sparse.map; other members are not sparse", () => {
    expect(sparseMember({ "GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "f", "GNU.sparse.realsize": "10" }))
      .toEqual({ name: "f", realSize: 10, map: undefined });
    expect(sparseMember({ "GNU.sparse.map": "4,2,10,0", "GNU.sparse.size": "10" })).toEqual({ name: undefined, realSize: 10, map: [[4, 2], [10, 0]] });
    expect(sparseMember({ path: "x" })).toBeUndefined();
    expect(() => sparseMember({ "GNU.sparse.map": "4", "GNU.sparse.size": "10" })).toThrow(/odd count/);
  });

  it("rejects a fragment past the real size and data that ends early", async () => {
    const member = { name: "f", realSize: 4, map: [[2, 4]] as const };
    await expect(writeSparse(Readable.from([Buffer.from("abcd")]), join(dir, "past"), 0o644, member)).rejects.toMatchObject({ code: "TSB_OPS_FILE_ARCHIVE" });
    await expect(writeSparse(Readable.from([Buffer.from("ab")]), join(dir, "short"), 0o644, { name: "g", realSize: 9, map: [[0, 4]] }))
      .rejects.toMatchObject({ code: "TSB_OPS_FILE_ARCHIVE", message: expect.stringContaining("ends early") });
  });
});
