import { describe, expect, it } from "@jest/globals";
import { StepCounts, formatDuration, formatSummary } from "../../../src/progress/summary.js";

describe("build summary", () => {
  it("formats durations", () => {
    expect(formatDuration(0)).toBe("0.0s");
    expect(formatDuration(1299)).toBe("1.2s");
    expect(formatDuration(59_990)).toBe("59.9s");
    expect(formatDuration(65_000)).toBe("1m05s");
    expect(formatDuration(3_725_000)).toBe("1h02m");
    expect(formatDuration(-5)).toBe("0.0s");
  });

  it("counts visible steps and cached ones, and prints digest, tags and exports", () => {
    const c = new StepCounts();
    c.add({ type: "vertex.cached", vertex: { digest: "a", name: "FROM a" }, time: 1000 });
    c.add({ type: "vertex.started", vertex: { digest: "b", name: "RUN b" }, time: 1000 });
    c.add({ type: "vertex.started", vertex: { digest: "h", name: "helper", hidden: true }, time: 1000 });
    c.add({ type: "vertex.done", digest: "b", time: 3500 });
    expect([c.steps, c.cached, c.elapsed()]).toEqual([2, 1, 2500]);
    expect(formatSummary({ digest: "sha256:x", tags: ["a:1"], exports: ["oci archive out.tar"] }, c)).toEqual([
      "Build finished in 2.5s: 2 steps, 1 cached",
      "image sha256:x",
      "tagged a:1",
      "exported oci archive out.tar",
    ]);
    expect(formatSummary({ durationMs: 100 }, new StepCounts())).toEqual(["Build finished in 0.1s: 0 steps, 0 cached"]);
  });
});
