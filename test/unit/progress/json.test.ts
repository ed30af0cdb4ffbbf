import { describe, expect, it } from "@jest/globals";
import { PassThrough } from "node:stream";
import { JsonRenderer } from "../../../src/progress/render/json.js";

function capture(): { out: PassThrough; lines: () => string[] } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  return { out, lines: () => Buffer.concat(chunks).toString().split("\n") };
}

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 0);

describe("rawjson progress renderer", () => {
  it("writes one JSON event per line with digest, name and ISO 8601 times", () => {
    const { out, lines } = capture();
    const r = new JsonRenderer(out);
    const src = [{ start: { line: 3, column: 1 }, end: { line: 3, column: 12 } }];
    r.write({ type: "vertex.cached", vertex: { digest: "sha256:a", name: "[1/2] FROM busybox" }, time: T0 });
    r.write({ type: "vertex.started", vertex: { digest: "sha256:b", name: "[2/2] RUN make", source: src }, time: T0 + 10 });
    r.write({ type: "vertex.log", digest: "sha256:b", stream: 1, data: Buffer.from("héllo\n"), time: T0 + 20 });
    r.write({ type: "vertex.log", digest: "sha256:b", stream: 2, data: new Uint8Array([0xff, 0x00, 0x41]), time: T0 + 30 });
    r.write({ type: "vertex.progress", digest: "sha256:b", id: "sha256:c pull", current: 10, total: 100, time: T0 + 40 });
    r.write({ type: "vertex.done", digest: "sha256:b", time: T0 + 1250 });
    r.write({ type: "vertex.started", vertex: { digest: "sha256:d", name: "RUN false" }, time: T0 + 1300 });
    r.write({ type: "vertex.error", digest: "sha256:d", error: "exit code: 1", time: T0 + 1400 });
    r.write({ type: "warning", message: "FromAsCasing", time: T0 + 1500 });
    r.summary({ digest: "sha256:img", tags: ["reg/app:1"], durationMs: 1500 }, T0 + 1500);
    expect(lines()).toEqual([
      '{"type":"vertex.cached","digest":"sha256:a","name":"[1/2] FROM busybox","time":"2024-01-02T03:04:05.000Z"}',
      '{"type":"vertex.started","digest":"sha256:b","name":"[2/2] RUN make","time":"2024-01-02T03:04:05.010Z","source":[{"start":{"line":3,"column":1},"end":{"line":3,"column":12}}]}',
      '{"type":"vertex.log","digest":"sha256:b","name":"[2/2] RUN make","time":"2024-01-02T03:04:05.020Z","stream":1,"text":"héllo\\n"}',
      '{"type":"vertex.log","digest":"sha256:b","name":"[2/2] RUN make","time":"2024-01-02T03:04:05.030Z","stream":2,"data":"/wBB"}',
      '{"type":"vertex.progress","digest":"sha256:b","name":"[2/2] RUN make","time":"2024-01-02T03:04:05.040Z","id":"sha256:c pull","current":10,"total":100}',
      '{"type":"vertex.done","digest":"sha256:b","name":"[2/2] RUN make","time":"2024-01-02T03:04:06.250Z","started":"2024-01-02T03:04:05.010Z","duration_ms":1240}',
      '{"type":"vertex.started","digest":"sha256:d","name":"RUN false","time":"2024-01-02T03:04:06.300Z"}',
      '{"type":"vertex.error","digest":"sha256:d","name":"RUN false","time":"2024-01-02T03:04:06.400Z","started":"2024-01-02T03:04:06.300Z","duration_ms":100,"error":"exit code: 1"}',
      '{"type":"warning","time":"2024-01-02T03:04:06.500Z","message":"FromAsCasing"}',
      '{"type":"summary","time":"2024-01-02T03:04:06.500Z","digest":"sha256:img","tags":["reg/app:1"],"duration_ms":1500}',
      "",
    ]);
    for (const l of lines().filter(Boolean)) expect(() => JSON.parse(l)).not.toThrow();
  });
});
