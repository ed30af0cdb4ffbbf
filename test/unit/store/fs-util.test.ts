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

describe("reaping scratch directories", () => {
  it("removes a dead owner's directory tree and skips what cannot be removed without failing", async () => {
    const { tempName, reapStaleTemps } = await import("../../../src/store/fs-util.js");
    const host = tempName().split(".").slice(2).join(".");
    const { mkdirSync } = await import("node:fs");
    const deadTree = join(dir, `999999998.0123456789ab.${host}`);
    mkdirSync(join(deadTree, "a", "b"), { recursive: true });
    writeFileSync(join(deadTree, "a", "b", "f"), "x");
    expect(await reapStaleTemps(dir)).toEqual([`999999998.0123456789ab.${host}`]);
    expect(readdirSync(dir)).toEqual([]);

    // A tree that cannot be removed (here: a mount point inside it, EBUSY, as a leaked mount would be): the reap
    // removes what it can, keeps that one, and does not fail.
    const stuck = join(dir, `999999997.0123456789ab.${host}`);
    mkdirSync(join(stuck, "m"), { recursive: true });
    const { execFileSync } = await import("node:child_process");
    execFileSync("mount", ["-t", "tmpfs", "tmpfs", join(stuck, "m")]);
    const other = join(dir, `999999996.0123456789ab.${host}`);
    writeFileSync(other, "x");
    try {
      const removed = await reapStaleTemps(dir);
      expect(removed).toEqual([`999999996.0123456789ab.${host}`]);
      expect(readdirSync(dir)).toEqual([`999999997.0123456789ab.${host}`]);
    } finally {
      execFileSync("umount", [join(stuck, "m")]);
    }
  });
});
