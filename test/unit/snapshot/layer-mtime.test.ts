import { afterAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { lstatSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyLayer, exportLayer, planSplice, writeSplicedLayer, type DiffSource } from "../../../src/snapshot/index.js";
import { memorySink, readTar, tmp } from "./tree.js";


describe("layer mtimes a ustar field cannot hold (before 1970, after 2242)", () => {
  const root = tmp("tsb-layer-mtime-");
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const times: Record<string, number> = { neg2: -2, negday: -86400, "neg-frac": -1.5, y2286: 10_000_000_000, one: 1, now: 1_600_000_000 };
  // Node's utimes takes a negative time for "now": coreutils touch sets them
  const touch = (f: string, t: number): void => void execFileSync("touch", ["-d", `@${t}`, join(root, f)]);
  for (const [f, t] of Object.entries(times)) {
    writeFileSync(join(root, f), f);
    touch(f, t);
  }
  const source = (): DiffSource => ({
    root,
    entries: Object.keys(times).sort().map((path) => ({ kind: "entry" as const, path, stat: lstatSync(join(root, path), { bigint: true }) })),
    xattrs: new Map(),
  });

  it("writes them as PAX mtime records (rounded down, as Go's archive/tar), and in-range ones in the header", async () => {
    const file = `${root}.tar`;
    await exportLayer(source(), file, { compression: "none" });
    const items = await readTar(readFileSync(file));
    rmSync(file);
    const got = Object.fromEntries(items.map((i) => {
      const pax = (i.header.pax ?? {}) as Record<string, string>;
      return [i.header.name, pax.mtime !== undefined ? `pax ${pax.mtime}` : `header ${i.header.mtime!.getTime() / 1000}`];
    }));
    expect(got).toEqual({
      neg2: "pax -2", negday: "pax -86400", "neg-frac": "pax -2", y2286: "pax 10000000000", one: "header 1", now: "header 1600000000",
    });
  });

  it("applies PAX mtimes back (a layer of such files round-trips)", async () => {
    const file = `${root}-rt.tar`;
    const dest = tmp("tsb-layer-mtime-apply-");
    try {
      await exportLayer(source(), file, { compression: "none" });
      await applyLayer(file, { mode: "flat", dir: dest });
      const secs = (f: string): number => Number(lstatSync(join(dest, f), { bigint: true }).mtimeNs / 1_000_000_000n);
      expect(Object.fromEntries(Object.keys(times).map((f) => [f, secs(f)]))).toEqual({
        neg2: -2, negday: -86400, "neg-frac": -2, y2286: 10_000_000_000, one: 1, now: 1_600_000_000,
      });
    } finally {
      rmSync(file, { force: true });
      rmSync(dest, { recursive: true, force: true });
    }
  });

  it("splices an old entry only when its PAX mtime matches", async () => {
    const old = `${root}-old.tar`;
    await exportLayer(source(), old, { compression: "none" });
    try {
      expect(planSplice(source(), old, new Set())?.copied).toBe(6);
      touch("neg2", 0); // the header field of the old entry holds 0: only its PAX record tells
      const next = source();
      const plan = planSplice(next, old, new Set());
      expect(plan?.copied).toBe(5);
      const full = memorySink();
      const desc = await exportLayer(next, full.stream, { compression: "none" });
      const out = memorySink();
      expect(await writeSplicedLayer(plan!, out.stream, { compression: "none" })).toEqual(desc);
      expect(out.bytes().equals(full.bytes())).toBe(true);
    } finally {
      rmSync(old, { force: true });
    }
  });
});
