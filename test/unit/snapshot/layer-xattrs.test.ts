import { afterAll, describe, expect, it } from "@jest/globals";
import { lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportLayer, planSplice, writeSplicedLayer, type DiffSource } from "../../../src/snapshot/index.js";
import { memorySink, readTar, tmp } from "./tree.js";

const CAP = Buffer.from("AQAAAgAgAAAAAAAAAAAAAAAAAAA=", "base64");


describe("layer xattrs (Docker's exporters record security.capability only)", () => {
  const root = tmp("tsb-layer-xattrs-");
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, "d"));
  for (const f of ["d/cap", "d/user", "d/both"]) writeFileSync(join(root, f), `${f}\n`);
  const entry = (path: string) => ({ kind: "entry" as const, path, stat: lstatSync(join(root, path), { bigint: true }) });
  const entries = ["d", "d/both", "d/cap", "d/user"].map(entry);
  const source = (xattrs: Record<string, Record<string, Buffer>>): DiffSource => ({
    root, entries,
    xattrs: new Map(Object.entries(xattrs).map(([p, m]) => [p, new Map(Object.entries(m))])),
  });
  const first = source({
    d: { "user.dir": Buffer.from("x") },
    "d/cap": { "security.capability": CAP },
    "d/user": { "user.k": Buffer.from("v"), "trusted.t": Buffer.from("t") },
    "d/both": { "security.capability": CAP, "user.k": Buffer.from([0, 0xff]), "security.selinux": Buffer.from("s") },
  });

  it("writes SCHILY.xattr.security.capability and no other attribute", async () => {
    const file = join(root, "..", `${root.split("/").pop()}.tar`);
    await exportLayer(first, file, { compression: "none" });
    const items = await readTar(readFileSync(file));
    rmSync(file);
    const pax = new Map(items.map((i) => [i.header.name, Object.keys((i.header.pax ?? {}) as Record<string, string>).filter((k) => k.startsWith("SCHILY."))]));
    expect(Object.fromEntries(pax)).toEqual({
      "d/": [], "d/both": ["SCHILY.xattr.security.capability"], "d/cap": ["SCHILY.xattr.security.capability"], "d/user": [],
    });
  });

  it("splices an entry whose non-layer xattrs changed, and regenerates one whose capability changed", async () => {
    const old = join(root, "..", `${root.split("/").pop()}-old.tar`);
    await exportLayer(first, old, { compression: "none" });
    try {
      for (const [next, copied] of [
        [source({ "d/cap": { "security.capability": CAP, "user.new": Buffer.from("n") }, "d/both": { "security.capability": CAP } }), 3],
        [source({ "d/both": { "security.capability": CAP } }), 2],
      ] as const) {
        const full = memorySink();
        const desc = await exportLayer(next, full.stream, { compression: "none" });
        const plan = planSplice(next, old, new Set());
        expect(plan?.copied).toBe(copied);
        const out = memorySink();
        expect(await writeSplicedLayer(plan!, out.stream, { compression: "none" })).toEqual(desc);
        expect(out.bytes().equals(full.bytes())).toBe(true);
      }
    } finally {
      rmSync(old, { force: true });
    }
  });
});
