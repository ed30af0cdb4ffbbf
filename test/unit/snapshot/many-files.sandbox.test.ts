// A layer of many small entries: tar-stream's pieces are joined into big chunks before hashing and compression;
// the tar must still hold every entry with its bytes, and gzip's diffId must be the uncompressed tar's digest.
import { afterAll, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import tar from "tar-stream";
import { requireSession } from "../../helpers/session.js";
import { createSnapshotter, exportLayer } from "../../../src/snapshot/index.js";
import { tmp } from "./tree.js";

requireSession();
const dir = tmp();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function entries(file: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const ex = tar.extract();
  ex.on("entry", (h, stream, next) => {
    const parts: Buffer[] = [];
    stream.on("data", (b: unknown) => parts.push(b as Buffer));
    stream.on("end", () => {
      out.set(h.name, Buffer.concat(parts).toString());
      next();
    });
  });
  const done = new Promise<void>((res, rej) => (ex.on("finish", () => res()), ex.on("error", rej)));
  ex.end(readFileSync(file));
  await done;
  return out;
}

describe("exportLayer with 3,000 small files", () => {
  it("writes every entry and the same diffId whatever the compression", async () => {
    const s = await createSnapshotter(join(dir, "root"), { driver: "copy" });
    try {
      await s.prepare("many");
      const fs = await s.mount("many");
      for (let d = 0; d < 30; d++) {
        mkdirSync(join(fs, `d${d}`));
        for (let f = 0; f < 100; f++) writeFileSync(join(fs, `d${d}`, `f${f}`), `file ${d}/${f}\n`.repeat(1 + (f % 7)));
      }
      writeFileSync(join(fs, "big"), Buffer.alloc(700 * 1024, 7));
      await s.commit("many");
      const plain = await exportLayer(await s.diff("many"), join(dir, "none.tar"), { compression: "none" });
      const gz = await exportLayer(await s.diff("many"), join(dir, "layer.gz"), { compression: "gzip" });
      const tarBytes = readFileSync(join(dir, "none.tar"));
      expect(plain.diffId).toBe(`sha256:${createHash("sha256").update(tarBytes).digest("hex")}`);
      expect(plain.uncompressedSize).toBe(tarBytes.length);
      expect(gz.diffId).toBe(plain.diffId);
      const got = await entries(join(dir, "none.tar"));
      expect(got.size).toBe(30 + 3000 + 1);
      expect(got.get("d7/f5")).toBe("file 7/5\n".repeat(6));
      expect(got.get("d29/f99")).toBe("file 29/99\n".repeat(1 + (99 % 7)));
      expect(got.get("big")?.length).toBe(700 * 1024);
    } finally {
      await s.close();
    }
  });
});
