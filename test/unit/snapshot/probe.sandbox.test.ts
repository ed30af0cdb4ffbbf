import { afterAll, describe, expect, it } from "@jest/globals";
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { requireSession } from "../../helpers/session.js";
import { probeOverlay } from "../../../src/snapshot/index.js";
import { PROBE_FILE, probeKey } from "../../../src/snapshot/probe.js";
import { tmp } from "./tree.js";

requireSession();

const dirs: string[] = [];
const fresh = (): string => {
  const d = tmp("tsb-probe-");
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("overlay probe memory", () => {
  it("remembers a working probe in the root, keyed by boot, kernel, id map and root directory", async () => {
    const root = fresh();
    const probe = await probeOverlay(root);
    expect(probe.ok).toBe(true);
    const saved = JSON.parse(readFileSync(join(root, PROBE_FILE), "utf8")) as { key: string; userxattr: boolean };
    expect(saved).toEqual({ key: await probeKey(root), userxattr: probe.userxattr });
    // No scratch directory is left behind.
    expect(existsSync(join(root, PROBE_FILE))).toBe(true);
  });

  it("uses a remembered probe without mounting", async () => {
    const root = fresh();
    // A remembered answer that differs from what mounting finds proves that no mount was tried.
    const real = await probeOverlay(fresh());
    writeFileSync(join(root, PROBE_FILE), JSON.stringify({ key: await probeKey(root), userxattr: !real.userxattr }));
    const probe = await probeOverlay(root);
    expect(probe).toEqual({ ok: true, userxattr: !real.userxattr, reason: expect.any(String) });
  });

  it("ignores a probe remembered for another root directory (copied root, other filesystem)", async () => {
    const a = fresh();
    const real = await probeOverlay(a);
    const b = join(fresh(), "snapshots");
    mkdirSync(b);
    writeFileSync(join(b, PROBE_FILE), JSON.stringify({ key: await probeKey(a), userxattr: !real.userxattr }));
    const probe = await probeOverlay(b);
    expect(probe.userxattr).toBe(real.userxattr);
    const saved = JSON.parse(readFileSync(join(b, PROBE_FILE), "utf8")) as { key: string };
    expect(saved.key).toBe(await probeKey(b));
  });
});
