import { describe, expect, it } from "@jest/globals";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LogRing } from "../../../src/progress/log-ring.js";
import { createLogFiles } from "../../../src/progress/log-files.js";
import type { ProgressEvent } from "../../../src/progress/events.js";

const log = (digest: string, text: string | Uint8Array, time = 0): ProgressEvent => ({
  type: "vertex.log",
  digest,
  stream: 1,
  data: typeof text === "string" ? Buffer.from(text) : text,
  time,
});

describe("LogRing", () => {
  it("keeps the last 20 lines per vertex, partial lines and split UTF-8 included", () => {
    const ring = new LogRing();
    ring.write({ type: "vertex.started", vertex: { digest: "a", name: "RUN a" }, time: 0 });
    for (let i = 1; i <= 30; i++) ring.write(log("a", `line ${i}\n`));
    const euro = Buffer.from("€");
    ring.write(log("a", Buffer.concat([Buffer.from("tail "), euro.subarray(0, 1)])));
    ring.write(log("a", euro.subarray(1)));
    expect(ring.tail("a")).toHaveLength(20);
    expect(ring.tail("a")[0]).toBe("line 12");
    expect(ring.tail("a")[19]).toBe("tail €");
    ring.write(log("b", "\u001b[1mbold\u001b[0m\n"));
    expect(ring.tail("b")).toEqual(["bold"]);
    expect(ring.tail("nope")).toEqual([]);
  });

  it("knows what was interrupted", () => {
    const ring = new LogRing(5);
    ring.write({ type: "vertex.started", vertex: { digest: "a", name: "RUN sleep 9" }, time: 100 });
    ring.write({ type: "vertex.started", vertex: { digest: "b", name: "RUN true" }, time: 100 });
    ring.write({ type: "vertex.started", vertex: { digest: "c", name: "RUN sleep 8" }, time: 100 });
    ring.write({ type: "vertex.done", digest: "b", time: 200 });
    ring.write({ type: "vertex.error", digest: "c", error: "cancelled", time: 300 });
    expect(ring.interrupted().map((v) => [v.vertex.name, v.state, v.ended])).toEqual([
      ["RUN sleep 9", "running", undefined],
      ["RUN sleep 8", "cancelled", 300],
    ]);
  });
});

describe("createLogFiles", () => {
  it("tees every vertex's complete log into its own file", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsb-logs-"));
    try {
      const files = createLogFiles(join(dir, "logs"));
      const big = "x".repeat(100_000) + "\n";
      files.write(log("sha256:0123456789abcdef", "first\n"));
      files.write(log("sha256:fedcba9876543210", "other\n"));
      files.write(log("sha256:0123456789abcdef", big));
      files.write({ type: "vertex.done", digest: "sha256:0123456789abcdef", time: 0 });
      files.write(log("sha256:fedcba9876543210", new Uint8Array([0xff, 0x0a])));
      files.close();
      const a = files.pathFor("sha256:0123456789abcdef")!;
      const b = files.pathFor("sha256:fedcba9876543210")!;
      expect(a).toBe(join(dir, "logs", "0123456789ab.log"));
      expect(readFileSync(a, "utf8")).toBe(`first\n${big}`);
      expect(readFileSync(b)).toEqual(Buffer.concat([Buffer.from("other\n"), Buffer.from([0xff, 0x0a])]));
      expect(statSync(a).mode & 0o777).toBe(0o600);
      expect(files.pathFor("sha256:none")).toBeUndefined();
      expect(() => files.write(log("sha256:0123456789abcdef", "after close\n"))).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("never throws when the directory cannot be created", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsb-logs-"));
    try {
      writeFileSync(join(dir, "file"), "");
      const files = createLogFiles(join(dir, "file", "logs"));
      expect(() => files.write(log("sha256:aa", "x\n"))).not.toThrow();
      expect(files.pathFor("sha256:aa")).toBeUndefined();
      files.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
