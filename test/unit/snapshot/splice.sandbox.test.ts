import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { chmod, lstat, mkdir, mkdtemp, rm, symlink, unlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSnapshotter, exportLayer, planDerivedSplice, planSplice, writeSplicedLayer, type Snapshotter } from "../../../src/snapshot/index.js";
import { requireSession } from "../../helpers/session.js";
import { memorySink } from "./tree.js";
import { rng } from "../../helpers/rng.js";


describe("spliced layer export", () => {
  let dir: string;
  let snap: Snapshotter;
  beforeAll(async () => {
    requireSession();
    dir = await mkdtemp(join(tmpdir(), "tsb-splice-"));
    snap = await createSnapshotter(join(dir, "snapshots"));
  });
  afterAll(async () => {
    await snap?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("is byte for byte the full export, for random trees and random deltas", async () => {
    if (snap.report.driver !== "overlay") throw new Error(`overlay driver needed, got ${snap.report.reason}`);
    await snap.prepare("base");
    const bp = await snap.mount("base");
    await mkdir(join(bp, "app/keep"), { recursive: true });
    await writeFile(join(bp, "app/keep/base.txt"), "base\n");
    await snap.commit("base");
    let spliced = 0;
    let derivedCopied = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const rand = rng(seed);
      const n = (k: number): number => Math.floor(rand() * k);
      const when = (): number => 1_600_000_000 + n(1_000_000);
      // The earlier layer: a random tree (long and non-ASCII names, big files, symlinks, odd modes).
      const l1 = `l1-${seed}`;
      await snap.prepare(l1, "base");
      const p1 = await snap.mount(l1);
      const files: string[] = [];
      for (let i = 0; i < 60; i++) {
        const d = `app/d${n(5)}${n(3) === 0 ? `/${"long-".repeat(30)}${n(2)}` : ""}${n(6) === 0 ? "/ünï" : ""}`;
        await mkdir(join(p1, d), { recursive: true });
        const f = `${d}/f${i}`;
        if (n(8) === 0) await symlink(`../t${n(9)}`, join(p1, f));
        else {
          await writeFile(join(p1, f), Buffer.alloc(n(3) === 0 ? n(200_000) : n(700), i));
          await chmod(join(p1, f), [0o644, 0o600, 0o755, 0o4755][n(4)]!);
          await utimes(join(p1, f), when(), when());
          files.push(f);
        }
      }
      await snap.commit(l1);
      const old = join(dir, `${l1}.tar`);
      await exportLayer(await snap.diff(l1), old, { compression: "none" });

      // The clone with a delta, written as the incremental COPY writes it: replaced, never modified in place.
      const l2 = `l2-${seed}`;
      const removed = files.filter(() => n(10) === 0);
      await snap.prepare(l2, "base");
      await snap.cloneLayer(l2, l1, removed);
      const p2 = await snap.mount(l2);
      const changed = new Set<string>();
      for (const f of files.filter((x) => !removed.includes(x))) {
        const r = n(12);
        if (r > 3) continue;
        const was = await lstat(join(p2, f));
        await unlink(join(p2, f));
        if (r === 0) await writeFile(join(p2, f), `modified ${seed} ${f}\n`);
        else if (r === 1) await writeFile(join(p2, f), "same", { mode: 0o700 });
        else if (r === 2) await symlink(`retargeted-${seed}`, join(p2, f));
        else {
          // Same size, mode and mtime, other bytes: only the changed list tells.
          await writeFile(join(p2, f), Buffer.alloc(was.size, 0x7a), { mode: was.mode & 0o7777 });
          await chmod(join(p2, f), was.mode & 0o7777);
          await utimes(join(p2, f), was.atime, was.mtime);
        }
        changed.add(f);
      }
      for (let i = 0; i < n(4); i++) {
        const f = `app/new${n(3)}/n${i}`;
        const extra = `app/new${n(3)}`;
        await mkdir(join(p2, extra), { recursive: true }).catch(() => {});
        changed.add(extra);
        await mkdir(join(p2, f.slice(0, f.lastIndexOf("/"))), { recursive: true });
        await writeFile(join(p2, f), `new ${i}\n`);
        changed.add(f);
      }
      const d4Gone = n(2) === 0;
      if (d4Gone) await rm(join(p2, "app/d4"), { recursive: true, force: true });
      await chmod(join(p2, "app"), 0o750);
      for (const d of ["app", "app/d0", "app/d1", "app/d2", "app/d3", "app/d4"]) changed.add(d);
      await snap.commit(l2);

      const diff = await snap.diff(l2);
      const full = memorySink();
      const fullDesc = await exportLayer(diff, full.stream, { compression: "none" });
      const plan = planSplice(diff, old, changed);
      expect(plan).toBeDefined();
      spliced += plan!.copied;
      const out = memorySink();
      const desc = await writeSplicedLayer(plan!, out.stream, { compression: "none" });
      expect(out.bytes().equals(full.bytes())).toBe(true);
      expect(desc).toEqual(fullDesc);
      if (seed === 1) {
        const gz = await writeSplicedLayer(plan!, memorySink().stream, { compression: "gzip" });
        expect(gz).toEqual(await exportLayer(diff, memorySink().stream, { compression: "gzip" }));
      }

      // Planned from what was written and removed, without a walk: the same bytes.
      const written = new Set([...changed].filter((p) => !(d4Gone && (p === "app/d4" || p.startsWith("app/d4/")))));
      const derived = await planDerivedSplice((await snap.layerDir!(l2))!, old, written, d4Gone ? [...removed, "app/d4"] : removed);
      expect(derived).toBeDefined();
      derivedCopied += derived!.copied;
      const out2 = memorySink();
      expect(await writeSplicedLayer(derived!, out2.stream, { compression: "none" })).toEqual(fullDesc);
      expect(out2.bytes().equals(full.bytes())).toBe(true);
      // A written path that is not there any more cannot be planned: declined, never guessed.
      if (d4Gone) expect(await planDerivedSplice((await snap.layerDir!(l2))!, old, changed, removed)).toBeUndefined();
    }
    expect(spliced).toBeGreaterThan(100); // most entries really were copied
    expect(derivedCopied).toBeGreaterThan(100);
  });

  it("lists a layer in layer order without sorting it afterwards (same order as sortEntries)", async () => {
    const { sortEntries } = await import("../../../src/snapshot/walk.js");
    await snap.prepare("order-base", "base");
    const bp = await snap.mount("order-base");
    for (const d of ["app/gone", "app/opq", "app/a b"]) await mkdir(join(bp, d), { recursive: true });
    for (const f of ["app/gone/f", "app/opq/old", "app/z", "app/a b/x"]) await writeFile(join(bp, f), f);
    await snap.commit("order-base");
    await snap.prepare("order", "order-base");
    const p = await snap.mount("order");
    await rm(join(p, "app/gone"), { recursive: true });
    await rm(join(p, "app/z"));
    await rm(join(p, "app/opq"), { recursive: true });
    await mkdir(join(p, "app/opq"));
    await writeFile(join(p, "app/opq/new"), "n");
    for (const n of ["a", "a-b", "a.b", "a/b", "a b/y", "ä", "B", "_", "~"]) {
      await mkdir(join(p, "app", n.includes("/") ? n.slice(0, n.lastIndexOf("/")) : "."), { recursive: true });
      await writeFile(join(p, "app", n.includes("/") ? n : `${n}.f`), n);
    }
    await snap.commit("order");
    const entries = (await snap.diff("order")).entries;
    expect(entries.map((e) => `${e.kind}:${e.path}`)).toEqual(sortEntries(entries).map((e) => `${e.kind}:${e.path}`));
    expect(entries.map((e) => `${e.kind}:${e.path}`)).toEqual(expect.arrayContaining(["whiteout:app/gone", "whiteout:app/z", "opaque:app/opq"]));
  });

  it("keeps file names and link targets that are not UTF-8 byte for byte (full and spliced exports)", async () => {
    const { execFileSync } = await import("node:child_process");
    const { symlinkSync, writeFileSync: writeSync } = await import("node:fs");
    const raw = (s: string, ...bytes: number[]): Buffer => Buffer.concat([Buffer.from(s), Buffer.from(bytes)]);
    await snap.prepare("raw1", "base");
    const p = await snap.mount("raw1");
    await mkdir(join(p, "raw"));
    writeSync(raw(join(p, "raw", "latin1-caf"), 0xe9), "café in latin-1\n");
    writeSync(raw(join(p, "raw", "ff-"), 0xff, 0xfe, 0x2e, 0x74), "bytes\n");
    writeSync(join(p, "raw", "ok-é"), "utf-8\n");
    symlinkSync(raw("target-", 0xe9), raw(join(p, "raw", "link-"), 0xe9));
    await snap.commit("raw1");
    const diff = await snap.diff("raw1");
    const full = join(dir, "raw1.tar");
    const desc = await exportLayer(diff, full, { compression: "none" });
    // GNU tar reads the PAX path and linkpath records: the names and the link target come back as the same bytes.
    const listing = execFileSync("tar", ["--quoting-style=literal", "-tvf", full]);
    for (const want of [raw("raw/latin1-caf", 0xe9), raw("raw/ff-", 0xff, 0xfe, 0x2e, 0x74), Buffer.from("raw/ok-é"), raw("raw/link-", 0xe9, 0x20, 0x2d, 0x3e, 0x20, 0x74, 0x61, 0x72, 0x67, 0x65, 0x74, 0x2d, 0xe9)]) {
      expect(listing.includes(want)).toBe(true);
    }
    // A clone of that layer with one more file, spliced from what was written: the same bytes as a full export.
    await snap.prepare("raw2", "base");
    await snap.cloneLayer("raw2", "raw1");
    writeSync(join(await snap.mount("raw2"), "raw", "new"), "n\n");
    await snap.commit("raw2");
    const plan = await planDerivedSplice((await snap.layerDir!("raw2"))!, full, new Set(["raw", "raw/new"]), []);
    expect(plan).toBeDefined();
    expect(plan!.copied).toBe(3);
    const spliced = memorySink();
    const whole = memorySink();
    await writeSplicedLayer(plan!, spliced.stream, { compression: "none" });
    await exportLayer(await snap.diff("raw2"), whole.stream, { compression: "none" });
    expect(spliced.bytes().equals(whole.bytes())).toBe(true);
    expect(desc.size).toBeGreaterThan(0);
  });

  it("declines a tar it cannot read", async () => {
    await snap.prepare("x", "base");
    await writeFile(join(await snap.mount("x"), "f"), "f");
    await snap.commit("x");
    const bad = join(dir, "bad.tar");
    await writeFile(bad, Buffer.alloc(700, 0x41));
    expect(planSplice(await snap.diff("x"), bad, new Set())).toBeUndefined();
    expect(await planDerivedSplice((await snap.layerDir!("x"))!, bad, new Set(), [])).toBeUndefined();
  });

  it("leaves layers with whiteouts to the walk", async () => {
    await snap.prepare("w", "base");
    const p = await snap.mount("w");
    await rm(join(p, "app/keep/base.txt"));
    await writeFile(join(p, "app/keep/other.txt"), "x");
    await snap.commit("w");
    const tar = join(dir, "w.tar");
    await exportLayer(await snap.diff("w"), tar, { compression: "none" });
    expect(await planDerivedSplice((await snap.layerDir!("w"))!, tar, new Set(["app/keep/other.txt"]), [])).toBeUndefined();
  });
});
