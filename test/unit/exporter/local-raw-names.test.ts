/** The local and tar outputs keep file names and link targets that are not UTF-8 as their bytes (as Docker does). */
import { afterAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync, createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyTree, writeTreeTar } from "../../../src/exporter/index.js";

const dir = mkdtempSync(join(tmpdir(), "tsb-raw-names-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const raw = (s: string, ...bytes: number[]): Buffer => Buffer.concat([Buffer.from(s), Buffer.from(bytes)]);

describe("local outputs with names that are not UTF-8", () => {
  const tree = join(dir, "tree");
  mkdirSync(join(tree, "d"), { recursive: true });
  writeFileSync(raw(join(tree, "d", "caf"), 0xe9), "latin-1\n");
  mkdirSync(raw(join(tree, "dir-"), 0xff));
  writeFileSync(raw(join(tree, "dir-"), 0xff, 0x2f, 0x66), "inside\n");
  symlinkSync(raw("t-", 0xfe), join(tree, "d", "link"));

  it("copyTree writes the same bytes", async () => {
    const out = join(dir, "out");
    await copyTree(tree, out);
    expect(readdirSync(join(out, "d"), { encoding: "buffer" }).some((n) => n.equals(raw("caf", 0xe9)))).toBe(true);
    expect(readdirSync(raw(join(out, "dir-"), 0xff), { encoding: "buffer" }).map(String)).toEqual(["f"]);
    expect(readlinkSync(join(out, "d", "link"), { encoding: "buffer" }).equals(raw("t-", 0xfe))).toBe(true);
  });

  it("writeTreeTar records the same bytes", async () => {
    const file = join(dir, "tree.tar");
    await writeTreeTar(tree, createWriteStream(file));
    const listing = execFileSync("tar", ["--quoting-style=literal", "-tvf", file]);
    for (const want of [raw("d/caf", 0xe9), raw("dir-", 0xff, 0x2f, 0x66), raw("d/link -> t-", 0xfe)]) expect(listing.includes(want)).toBe(true);
  });
});
