import { describe, expect, it } from "@jest/globals";
import { PassThrough } from "node:stream";
import { PlainRenderer, formatBytes } from "../../../src/progress/render/plain.js";

function capture(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  return { out, text: () => Buffer.concat(chunks).toString() };
}

describe("plain progress renderer", () => {
  it("prints BuildKit-style numbered steps, logs, CACHED and DONE", () => {
    const { out, text } = capture();
    const r = new PlainRenderer(out);
    const a = { digest: "sha256:a", name: "[1/2] FROM docker.io/library/busybox:latest" };
    const b = { digest: "sha256:b", name: "[2/2] RUN echo hi" };
    r.write({ type: "vertex.cached", vertex: a, time: 1000 });
    r.write({ type: "vertex.started", vertex: b, time: 1000 });
    r.write({ type: "vertex.log", digest: "sha256:b", stream: 1, data: Buffer.from("hel"), time: 1100 });
    r.write({ type: "vertex.log", digest: "sha256:b", stream: 1, data: Buffer.from("lo\nworld"), time: 1214 });
    r.write({ type: "vertex.done", digest: "sha256:b", time: 2234 });
    expect(text()).toBe(
      "#1 [1/2] FROM docker.io/library/busybox:latest\n#1 CACHED\n\n" +
        "#2 [2/2] RUN echo hi\n#2 0.214 hello\n#2 1.234 world\n#2 DONE 1.2s\n\n",
    );
  });

  it("prints exporter statuses as BuildKit does: duration when measurable, no byte counts", () => {
    const { out, text } = capture();
    const r = new PlainRenderer(out);
    r.write({ type: "vertex.started", vertex: { digest: "e", name: "exporting to image" }, time: 1000 });
    r.write({ type: "vertex.progress", digest: "e", id: "exporting layers", current: 0, completed: false, started: 1000, time: 1000 });
    r.write({ type: "vertex.progress", digest: "e", id: "exporting layers", current: 0, completed: true, started: 1000, time: 1230 });
    r.write({ type: "vertex.progress", digest: "e", id: "naming to docker.io/library/x:latest", current: 0, completed: true, started: 1240, time: 1245 });
    r.write({ type: "vertex.progress", digest: "e", id: "pushing layer sha256:ab", current: 2048, total: 2048, completed: true, started: 1250, time: 1750 });
    r.write({ type: "vertex.done", digest: "e", time: 1800 });
    expect(text()).toBe(
      "#1 exporting to image\n#1 exporting layers 0.2s done\n#1 naming to docker.io/library/x:latest done\n" +
        "#1 pushing layer sha256:ab 2.05kB / 2.05kB 0.5s done\n#1 DONE 0.8s\n\n",
    );
  });

  it("prints errors and cancellations", () => {
    const { out, text } = capture();
    const r = new PlainRenderer(out);
    r.write({ type: "vertex.started", vertex: { digest: "x", name: "RUN false" }, time: 0 });
    r.write({ type: "vertex.error", digest: "x", error: "exit code: 1", time: 10 });
    r.write({ type: "vertex.started", vertex: { digest: "y", name: "RUN sleep 9" }, time: 0 });
    r.write({ type: "vertex.error", digest: "y", error: "cancelled", time: 10 });
    expect(text()).toBe("#1 RUN false\n#1 ERROR: exit code: 1\n\n#2 RUN sleep 9\n#2 CANCELED\n\n");
  });

  it("ignores waiting steps and decodes UTF-8 split across chunks", () => {
    const { out, text } = capture();
    const r = new PlainRenderer(out);
    const euro = Buffer.from("€\n");
    r.write({ type: "vertex.waiting", vertex: { digest: "w", name: "RUN later" }, time: 0 });
    r.write({ type: "vertex.started", vertex: { digest: "u", name: "RUN echo €" }, time: 0 });
    r.write({ type: "vertex.log", digest: "u", stream: 1, data: euro.subarray(0, 2), time: 0 });
    r.write({ type: "vertex.log", digest: "u", stream: 1, data: euro.subarray(2), time: 0 });
    r.write({ type: "vertex.done", digest: "u", time: 0 });
    expect(text()).toBe("#1 RUN echo €\n#1 0.000 €\n#1 DONE 0.0s\n\n");
  });

  it("formats byte counts", () => {
    expect(formatBytes(999)).toBe("999B");
    expect(formatBytes(1500)).toBe("1.50kB");
    expect(formatBytes(25_300_000)).toBe("25.3MB");
  });
});
