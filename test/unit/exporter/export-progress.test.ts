import { describe, expect, it } from "@jest/globals";
import { ExportVertex } from "../../../src/exporter/export-progress.js";
import type { ProgressEvent } from "../../../src/progress/events.js";

describe("ExportVertex.run", () => {
  it("reports an abort (Ctrl-C) as cancelled and any other failure by its message", async () => {
    const events: ProgressEvent[] = [];
    const aborted = new ExportVertex({ progress: (e) => events.push(e) }, "exporting to image");
    const ac = new AbortController();
    ac.abort();
    await expect(aborted.run(async () => ac.signal.throwIfAborted())).rejects.toMatchObject({ name: "AbortError" });
    const failed = new ExportVertex({ progress: (e) => events.push(e) }, "exporting to image");
    await expect(failed.run(async () => { throw new Error("disk full"); })).rejects.toThrow("disk full");
    expect(events.filter((e) => e.type === "vertex.error").map((e) => (e as { error: string }).error)).toEqual(["cancelled", "disk full"]);
  });
});
