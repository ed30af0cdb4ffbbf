import { describe, it, expect } from "@jest/globals";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, hostname } from "node:os";
import { join } from "node:path";
import { checkRoot, createLease, fsck, mountsBelow, openContentStore, rootLayout, tempName } from "../../../src/store/index.js";
import type { Digest } from "../../../src/util/digest.js";

const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, "-");
const DEAD_PID = 2 ** 22 + 17; // above the default pid_max: never a live process

describe("checkRoot", () => {
  it("reports temp files and locks of dead processes, never those of live ones", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsb-check-"));
    try {
      const layout = rootLayout(root);
      for (const d of [layout.tmp, layout.locks, layout.images, join(layout.cache, "records")]) mkdirSync(d, { recursive: true });
      writeFileSync(join(layout.tmp, tempName()), "live");
      writeFileSync(join(layout.tmp, `${DEAD_PID}.0123456789ab.${HOST}`), "dead");
      mkdirSync(join(layout.tmp, "empty-XYZ"));
      writeFileSync(join(layout.cache, "records", `${DEAD_PID}.0123456789ab.${HOST}.tmp`), "{");
      writeFileSync(join(layout.cache, "records", `${"a".repeat(64)}.json`), "{}");
      writeFileSync(join(layout.locks, "x.lock"), JSON.stringify({ pid: DEAD_PID, host: HOST, token: "t" }));
      writeFileSync(join(layout.locks, "y.lock"), JSON.stringify({ pid: process.pid, host: HOST, token: "t" }));
      const r = await checkRoot(layout, { tempDirs: ["cache/records"] });
      expect(r.strayTemps.map((t) => t.path).sort()).toEqual([
        `cache/records/${DEAD_PID}.0123456789ab.${HOST}.tmp`,
        `tmp/${DEAD_PID}.0123456789ab.${HOST}`,
        "tmp/empty-XYZ",
      ]);
      expect(r.staleLocks.map((l) => l.path)).toEqual(["locks/x.lock"]);
      expect(r.ok).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("finds mount points below a directory in a mountinfo table", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsb-mi-"));
    try {
      const mi = join(dir, "mountinfo");
      writeFileSync(mi, [
        "22 1 0:21 / / rw - ext4 /dev/vda rw",
        "40 22 0:40 / /r/snapshots/1/merged rw - overlay overlay rw",
        "41 22 0:41 / /r\\040x/m rw - tmpfs tmpfs rw",
        "42 22 0:42 / /rother rw - tmpfs tmpfs rw",
      ].join("\n"));
      expect(mountsBelow("/r", mi)).toEqual(["/r/snapshots/1/merged"]);
      expect(mountsBelow("/r x", mi)).toEqual(["/r x/m"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fsck and leases", () => {
  it("does not count content a lease protects but that is not written yet as dangling", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsb-fsck-lease-"));
    try {
      const store = await openContentStore(root);
      const missing = `sha256:${"b".repeat(64)}` as Digest;
      await createLease(store.layout, { digests: [missing] });
      expect((await fsck(store)).dangling).toEqual([]);
      expect((await fsck(store, { providers: [{ kind: "images", roots: async () => [missing] }] })).dangling).toEqual([missing]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
