import { describe, expect, it } from "@jest/globals";
import { PassThrough } from "node:stream";
import { createRenderer, resolveProgressMode, teeProgress, isProgressMode, parseProgressMode } from "../../../src/progress/index.js";
import type { CreateRendererOptions, ProgressEvent, SignalHooks } from "../../../src/progress/index.js";

function capture(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  return { out, text: () => Buffer.concat(chunks).toString() };
}

const events: ProgressEvent[] = [
  { type: "vertex.cached", vertex: { digest: "a", name: "[1/2] FROM busybox" }, time: 1000 },
  { type: "vertex.started", vertex: { digest: "b", name: "[2/2] RUN echo hi" }, time: 1000 },
  { type: "vertex.log", digest: "b", stream: 1, data: Buffer.from("hi\n"), time: 1100 },
  { type: "vertex.done", digest: "b", time: 1500 },
];

describe("createRenderer", () => {
  it("resolves auto like buildx: TSBUILD_PROGRESS, else tty on a terminal, else plain", () => {
    expect(resolveProgressMode("auto", { isTTY: true, env: {} })).toBe("tty");
    expect(resolveProgressMode("auto", { isTTY: false, env: {} })).toBe("plain");
    expect(resolveProgressMode("auto", { isTTY: true, env: { TERM: "dumb" } })).toBe("plain");
    expect(resolveProgressMode("auto", { isTTY: true, env: { TSBUILD_PROGRESS: "rawjson" } })).toBe("rawjson");
    expect(resolveProgressMode("auto", { isTTY: false, env: { TSBUILD_PROGRESS: "bogus" } })).toBe("plain");
    expect(resolveProgressMode("quiet", { isTTY: true, env: { TSBUILD_PROGRESS: "plain" } })).toBe("quiet");
    expect(isProgressMode("tty")).toBe(true);
    expect(isProgressMode("fancy")).toBe(false);
    expect(parseProgressMode("rawjson")).toBe("rawjson");
    expect(() => parseProgressMode("fancy")).toThrow(expect.objectContaining({ code: "TSB_USAGE", hint: "use one of: auto, tty, plain, rawjson, quiet" }));
  });

  it("accepts the CLI's process and stderr as they are (type-checked)", () => {
    const opts: CreateRendererOptions = { stderr: process.stderr, env: process.env, isTTY: process.stderr.isTTY, signals: process };
    const hooks: SignalHooks = process;
    expect(opts.signals).toBe(hooks);
  });

  it("plain: BuildKit lines and a summary", async () => {
    const { out, text } = capture();
    const r = await createRenderer("auto", { stderr: out, isTTY: false, env: {}, now: () => 2000 });
    expect(r.mode).toBe("plain");
    for (const e of events) r.write(e);
    r.summary({ digest: "sha256:abc", tags: ["reg/app:1", "reg/app:latest"] });
    r.close();
    expect(text()).toBe(
      "#1 [1/2] FROM busybox\n#1 CACHED\n\n#2 [2/2] RUN echo hi\n#2 0.100 hi\n#2 DONE 0.5s\n\n" +
        "Build finished in 1.0s: 2 steps, 1 cached\nimage sha256:abc\ntagged reg/app:1\ntagged reg/app:latest\n",
    );
  });

  it("rawjson: one JSON object per line", async () => {
    const { out, text } = capture();
    const r = await createRenderer("rawjson", { stderr: out, env: {}, now: () => 2000 });
    for (const e of events) r.write(e);
    r.summary({ digest: "sha256:abc" });
    const lines = text().trimEnd().split("\n").map((l) => JSON.parse(l) as { type: string });
    expect(lines.map((l) => l.type)).toEqual(["vertex.cached", "vertex.started", "vertex.log", "vertex.done", "summary"]);
  });

  it("quiet: prints nothing", async () => {
    const { out, text } = capture();
    const r = await createRenderer("quiet", { stderr: out, isTTY: true, env: {} });
    for (const e of events) r.write(e);
    r.write({ type: "vertex.error", digest: "b", error: "boom", time: 2000 });
    r.summary({ digest: "sha256:abc" });
    r.close();
    expect(text()).toBe("");
  });

  it("tty: the live view, without colour under NO_COLOR", async () => {
    const { out, text } = capture();
    const r = await createRenderer("tty", { stderr: out, env: { NO_COLOR: "1" }, columns: 50, rows: 20, now: () => 1500 });
    expect(r.mode).toBe("tty");
    for (const e of events) r.write(e);
    r.close();
    const t = text();
    expect(t).toContain("[+] Building 0.5s (2/2) FINISHED");
    expect(t).toContain(" => DONE [2/2] RUN echo hi");
    expect(t).not.toContain("\u001b[34m");
    expect(t.endsWith("\u001b[?25h")).toBe(true);
  });

  it("tee: forwards to every sink, even after one throws", () => {
    const seen: string[] = [];
    const sink = teeProgress(
      (e) => seen.push(`1:${e.type}`),
      () => {
        throw new Error("bad sink");
      },
      (e) => seen.push(`3:${e.type}`),
    );
    sink(events[0]!);
    expect(seen).toEqual(["1:vertex.cached", "3:vertex.cached"]);
  });
});
