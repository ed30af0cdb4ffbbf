/** Owner identity and liveness, and the move from per-snapshot info.json files to db.json. */
import { describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createSnapshotter } from "../../../src/snapshot/index.js";
import { currentOwner, FileLock, isOwnerAlive, ownerTag, parseOwnerTag } from "../../../src/snapshot/lock.js";
import { tmp } from "./tree.js";

describe("owners", () => {
  it("tells this process alive and a finished or recycled one dead", () => {
    const me = currentOwner();
    expect(isOwnerAlive(me)).toBe(true);
    const child = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
    expect(isOwnerAlive({ ...me, pid: Number(child.stdout.trim()) })).toBe(false);
    expect(isOwnerAlive({ ...me, start: `${me.start}1` })).toBe(false); // same pid, other start time
    expect(isOwnerAlive({ ...me, boot: "another-boot" })).toBe(false);
    expect(isOwnerAlive({ ...me, pid: 1, start: "0", host: "elsewhere" })).toBe(true); // cannot check: keep
  });

  it("round-trips through a file-name tag", () => {
    const back = parseOwnerTag(ownerTag());
    expect(back && isOwnerAlive(back)).toBe(true);
    expect(parseOwnerTag("not-a-tag")).toBeUndefined();
  });
});

it("imports the committed snapshots of a pre-db.json root and reaps the rest", async () => {
  const root = tmp();
  const dir = join(root, "snapshots");
  const legacy = (id: number, key: string, kind: string, parentId?: number): void => {
    mkdirSync(join(dir, String(id), "fs"), { recursive: true });
    writeFileSync(join(dir, String(id), "info.json"), JSON.stringify({ id, key, kind, parentId, created: "2024-01-01T00:00:00.000Z" }));
    writeFileSync(join(dir, String(id), "changes.json"), "[]");
  };
  legacy(1, "old", "committed");
  legacy(2, "old-child", "committed", 1);
  legacy(3, "crashed", "active", 2);
  mkdirSync(join(dir, "7")); // half-created
  const s = await createSnapshotter(root, { driver: "copy" });
  expect((await s.list()).map((i) => `${i.key}:${i.parent ?? ""}`)).toEqual(["old:", "old-child:old"]);
  expect(readdirSync(dir).filter((n) => /^\d+$/.test(n)).sort()).toEqual(["1", "2"]);
  const fresh = await s.prepare("new", "old-child");
  expect(fresh.parent).toBe("old-child");
  expect(existsSync(join(dir, "8"))).toBe(true); // ids continue after the highest one ever used
  await s.close();
  rmSync(root, { recursive: true, force: true });
});

describe("FileLock", () => {
  it("close() while a critical section runs waits for it, and a section queued meanwhile still gets the lock", async () => {
    const path = join(tmp(), "lock");
    const lock = new FileLock(path);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const a = lock.run(async () => {
      await held;
      return "a";
    });
    await new Promise((r) => setTimeout(r, 50));
    const closed = lock.close();
    const b = lock.run(async () => "b"); // queued behind a; runs on a new helper after close
    release();
    await expect(a).resolves.toBe("a");
    await expect(b).resolves.toBe("b");
    await closed;
    // The old helper has exited by now; its death must not touch the helper that serves later sections.
    await new Promise((r) => setTimeout(r, 100));
    await expect(lock.run(async () => "c")).resolves.toBe("c");
    await lock.close();
  });

  it("excludes another process while held", async () => {
    const path = join(tmp(), "lock");
    const lock = new FileLock(path);
    const probe = (): number =>
      spawnSync("perl", ["-e", 'use Fcntl ":flock"; open(my $f, ">>", $ARGV[0]) or die; exit(flock($f, LOCK_EX | LOCK_NB) ? 0 : 3)', path]).status ?? -1;
    await lock.run(async () => {
      expect(probe()).toBe(3);
    });
    expect(probe()).toBe(0);
    await lock.close();
  });
});
