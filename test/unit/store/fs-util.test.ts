import { describe, it, expect, beforeEach, afterEach } from "@jest/globals";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLease, getLease, listLeases, rootLayout, writeFileAtomic } from "../../../src/store/index.js";
import { openContentStore } from "../../../src/store/index.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tsb-fsutil-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("writeFileAtomic", () => {
  it.each([true, false])("durable %s: replaces the file whole and leaves no temp file", async (durable) => {
    const p = join(dir, "rec.json");
    await writeFileAtomic(p, "one", 0o644, { durable });
    await writeFileAtomic(p, "two-two", 0o644, { durable });
    expect(readFileSync(p, "utf8")).toBe("two-two");
    expect(readdirSync(dir)).toEqual(["rec.json"]);
  });
});

describe("leases (written without fsync)", () => {
  it("an empty or torn lease file, as a crash may leave, is ignored", async () => {
    await openContentStore(dir);
    const layout = rootLayout(dir);
    const good = await createLease(layout, { id: "good", digests: [] });
    writeFileSync(join(layout.leases, "torn.json"), "");
    writeFileSync(join(layout.leases, "half.json"), '{"id":"half","expi');
    expect(await getLease(layout, "torn")).toBeUndefined();
    expect(await getLease(layout, "half")).toBeUndefined();
    expect((await listLeases(layout)).map((l) => l.id)).toEqual([good.id]);
  });
});
