import { describe, it, expect, beforeEach, afterEach } from "@jest/globals";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { openContentStore, resolveRoot, type ContentStore } from "../../../src/store/index.js";
import { syncDir } from "../../../src/store/content-store.js";
import { sha256, type Digest } from "../../../src/util/digest.js";

let dir: string;
let store: ContentStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "tsb-store-"));
  store = await openContentStore(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

describe("resolveRoot", () => {
  it("prefers --root, then TSBUILD_ROOT, then /var/lib for root, then XDG_DATA_HOME", () => {
    expect(resolveRoot({ root: "/x/y", env: { TSBUILD_ROOT: "/z" } })).toBe("/x/y");
    expect(resolveRoot({ env: { TSBUILD_ROOT: "/z" }, uid: 0 })).toBe("/z");
    expect(resolveRoot({ env: {}, uid: 0 })).toBe("/var/lib/tsbuild");
    expect(resolveRoot({ env: { XDG_DATA_HOME: "/d" }, uid: 1000 })).toBe("/d/tsbuild");
    expect(resolveRoot({ env: { HOME: "/home/u" }, uid: 1000 })).toBe("/home/u/.local/share/tsbuild");
    // uid 0 of the initial namespace, or of a session root made by root: /var/lib.
    expect(resolveRoot({ env: {}, uid: 0, uidMap: "         0          0 4294967295\n" })).toBe("/var/lib/tsbuild");
    expect(resolveRoot({ env: {}, uid: 0, uidMap: "0 0 1\n" })).toBe("/var/lib/tsbuild");
    // uid 0 of a rootless session is the invoking user: that user's root, not /var/lib.
    expect(resolveRoot({ env: { HOME: "/home/u" }, uid: 0, uidMap: "0 1000 1\n1 200000 65536\n" })).toBe("/home/u/.local/share/tsbuild");
  });
});

describe("content store", () => {
  it("ingests a stream and verifies digest and size", async () => {
    const digest = sha256("hello world");
    const info = await store.ingest({ digest, size: 11 }, chunks("hello ", "world"));
    expect(info).toEqual({ digest, size: 11 });
    expect(await store.has(digest)).toBe(true);
    expect((await store.readBytes(digest)).toString()).toBe("hello world");
    expect(await store.info(digest)).toEqual({ digest, size: 11 });
    expect(readdirSync(join(dir, "ingest"))).toEqual([]);
  });

  it("onReceived fires once after the last byte, before the blob is published; never for a failed source", async () => {
    const data = randomBytes(70_000);
    const digest = sha256(data);
    const events: string[] = [];
    async function* source(): AsyncIterable<Uint8Array> {
      yield data.subarray(0, 30_000);
      events.push("last chunk");
      yield data.subarray(30_000);
    }
    const info = await store.ingest({ digest, size: data.length }, source(), {
      onReceived: () => events.push(`received, published=${readdirSync(join(dir, "blobs", "sha256")).includes(digest.slice(7))}`),
    });
    events.push("resolved");
    expect(info).toEqual({ digest, size: data.length });
    expect(events).toEqual(["last chunk", "received, published=false", "resolved"]);

    let called = 0;
    async function* broken(): AsyncIterable<Uint8Array> {
      yield Buffer.from("partial");
      throw new Error("connection reset");
    }
    await expect(store.ingest({ size: 100 }, broken(), { onReceived: () => called++ })).rejects.toThrow();
    expect(called).toBe(0);
  });

  it("rejects a digest mismatch and leaves nothing behind", async () => {
    const wrong = sha256("something else");
    await expect(store.ingest({ digest: wrong }, chunks("hello"))).rejects.toMatchObject({ code: "TSB_STORE_DIGEST_MISMATCH" });
    expect(await store.has(wrong)).toBe(false);
    expect(await store.has(sha256("hello"))).toBe(false);
    expect(readdirSync(join(dir, "ingest"))).toEqual([]);
  });

  it("rejects content longer than the expected size while streaming", async () => {
    await expect(store.ingest({ size: 3 }, chunks("ab", "cd", "ef"))).rejects.toMatchObject({ code: "TSB_STORE_SIZE_MISMATCH" });
    await expect(store.ingest({ size: 9 }, chunks("ab"))).rejects.toMatchObject({ code: "TSB_STORE_SIZE_MISMATCH" });
    expect(readdirSync(join(dir, "ingest"))).toEqual([]);
  });

  it("writer learns the digest at the end; openRead honours a start offset", async () => {
    const w = await store.writer();
    w.stream.write("0123");
    w.stream.write("456789");
    const info = await w.commit();
    expect(info).toEqual({ digest: sha256("0123456789"), size: 10 });
    const r = await store.openRead(info.digest, { start: 4 });
    let s = "";
    for await (const c of r) s += String(c);
    expect(s).toBe("456789");
  });

  it("many small chunks (batched into writev calls) are stored whole and in order", async () => {
    const parts = Array.from({ length: 3000 }, (_, i) => randomBytes(1 + ((i * 7919) % 3000)));
    const all = Buffer.concat(parts);
    const digest = sha256(all);
    const info = await store.ingest({ digest, size: all.length }, Readable.from(parts));
    expect(info).toEqual({ digest, size: all.length });
    expect((await store.readBytes(digest)).equals(all)).toBe(true);
  });

  it("enforces the size limit inside a batched write and leaves nothing behind", async () => {
    const parts = Array.from({ length: 2000 }, () => Buffer.alloc(1000, 1));
    await expect(store.ingest({ size: 1_500_000 }, Readable.from(parts))).rejects.toMatchObject({ code: "TSB_STORE_SIZE_MISMATCH" });
    expect(readdirSync(join(dir, "ingest"))).toEqual([]);
    expect(readdirSync(join(dir, "blobs", "sha256"))).toEqual([]);
  });

  it("parallel ingests of different blobs all commit (directory fsyncs are shared)", async () => {
    const datas = Array.from({ length: 12 }, () => randomBytes(64 * 1024));
    const infos = await Promise.all(datas.map((d) => store.ingest({ digest: sha256(d) }, Readable.from([d]))));
    expect(infos.map((i) => i.digest).sort()).toEqual(datas.map((d) => sha256(d)).sort());
    expect(readdirSync(join(dir, "blobs", "sha256")).length).toBe(12);
  });

  it("concurrent ingests of the same digest end with one blob", async () => {
    const data = Buffer.alloc(1 << 20, 7);
    const digest = sha256(data);
    const results = await Promise.all([1, 2, 3, 4].map(() => store.ingest({ digest }, Readable.from([data]))));
    expect(results.every((r) => r.digest === digest)).toBe(true);
    expect(readdirSync(join(dir, "blobs", "sha256"))).toEqual([digest.slice(7)]);
  });

  it("readBytes and verify detect corruption; openRead of a missing blob is NOT_FOUND", async () => {
    const { digest } = await store.putBytes("{}");
    writeFileSync(store.path(digest), "{ }");
    await expect(store.readJson(digest)).rejects.toMatchObject({ code: "TSB_STORE_CORRUPT" });
    expect((await store.verify(digest)).ok).toBe(false);
    await expect(store.openRead(sha256("nope") as Digest)).rejects.toMatchObject({ code: "TSB_STORE_NOT_FOUND" });
  });

  it("reaps temp files of dead owners only", async () => {
    const dead = join(dir, "ingest", "999999999.0123456789ab.otherhost");
    writeFileSync(dead, "x");
    const { tempName } = await import("../../../src/store/index.js");
    const live = join(dir, "ingest", tempName());
    writeFileSync(live, "x");
    const host = tempName().split(".").slice(2).join(".");
    writeFileSync(join(dir, "ingest", `999999999.0123456789ab.${host}`), "x");
    const { reapStaleTemps } = await import("../../../src/store/fs-util.js");
    expect(await reapStaleTemps(join(dir, "ingest"))).toEqual([`999999999.0123456789ab.${host}`]);
    // A foreign host cannot be checked, so it is kept; our own live pid is kept.
    expect(readdirSync(join(dir, "ingest")).sort()).toEqual([live.split("/").pop(), "999999999.0123456789ab.otherhost"].sort());
  });
});

describe("syncDir (group-committed directory fsync)", () => {
  it("a call made while an fsync runs waits for a fresh one, shared by every call queued meanwhile", async () => {
    const order: string[] = [];
    const a = syncDir(dir).then(() => order.push("a"));
    const b = syncDir(dir).then(() => order.push("b"));
    const c = syncDir(dir).then(() => order.push("c"));
    await Promise.all([a, b, c]);
    expect(order).toEqual(["a", "b", "c"]);
    // b and c shared one fsync: they settle in the same turn, after a.
    const d = syncDir(dir);
    const e = syncDir(dir);
    expect(d).not.toBe(e);
    const f = syncDir(dir);
    expect(f).toBe(e);
    await Promise.all([d, e, f]);
  });

  it("a failed fsync fails its callers only", async () => {
    const missing = join(dir, "nope");
    await expect(syncDir(missing)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(syncDir(dir)).resolves.toBeUndefined();
  });
});
