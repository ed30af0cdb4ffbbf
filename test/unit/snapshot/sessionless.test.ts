import { afterAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NEEDS_SESSION, SessionlessSnapshotter } from "../../../src/snapshot/index.js";

const root = mkdtempSync(join(tmpdir(), "tsb-sessionless-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("SessionlessSnapshotter", () => {
  it("refuses everything that mounts, writes or diffs, with the needs-session code", async () => {
    const s = new SessionlessSnapshotter(root);
    for (const op of [() => s.prepare("a"), () => s.view("a"), () => s.mount("a"), () => s.unmount("a"), () => s.commit("a"), () => s.remove("a"), () => s.diff("a"), () => s.applyTarget("a")]) {
      await expect(op()).rejects.toMatchObject({ code: NEEDS_SESSION });
    }
    await s.close();
  });

  it("reads the records: an empty root lists nothing and an unknown key is not found (not a session error)", async () => {
    const s = new SessionlessSnapshotter(root);
    expect(await s.list()).toEqual([]);
    const err = await s.stat("nope").then(() => undefined, (e: unknown) => e as { code?: string });
    expect(err?.code).toBeDefined();
    expect(err?.code).not.toBe(NEEDS_SESSION);
    await s.close();
  });
});
