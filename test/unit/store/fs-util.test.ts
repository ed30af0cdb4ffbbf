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

describe("temp names carry the owner's start time", () => {
  it("tells a reused pid apart", async () => {
    const { tempName, tempOwner, isOwnerAlive } = await import("../../../src/store/fs-util.js");
    const o = tempOwner(tempName(".tmp"))!;
    expect(o.pid).toBe(process.pid);
    expect(typeof o.start).toBe("number");
    expect(isOwnerAlive(o.pid, o.host, o.start)).toBe(true);
    // Same pid, another start time: the process that made the file is gone.
    expect(isOwnerAlive(o.pid, o.host, o.start! + 1)).toBe(false);
    // A live process (pid 1) with a different start time is not the owner; without a start time it may be.
    expect(isOwnerAlive(1, o.host, 123456789)).toBe(false);
    expect(isOwnerAlive(1, o.host)).toBe(true);
    // The older form without a start time still parses.
    expect(tempOwner(`42.0123456789ab.${o.host}`)).toEqual({ pid: 42, host: o.host });
  });
});
