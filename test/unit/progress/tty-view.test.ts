import { describe, expect, it } from "@jest/globals";
import { TtyView } from "../../../src/progress/render/tty-view.js";
import type { ProgressEvent } from "../../../src/progress/events.js";

const v = (d: string, name: string) => ({ digest: d, name });
const text = (view: TtyView, o: { width: number; height: number; now: number; final?: boolean }): string[] =>
  view.frame(o).map((l) => l.text);

function scripted(): TtyView {
  const view = new TtyView();
  const events: ProgressEvent[] = [
    { type: "vertex.cached", vertex: v("a", "[1/4] FROM docker.io/library/busybox:latest"), time: 1000 },
    { type: "vertex.started", vertex: v("b", "[2/4] COPY . /app"), time: 1000 },
    { type: "vertex.done", digest: "b", time: 1300 },
    { type: "vertex.started", vertex: v("c", "[3/4] RUN make all"), time: 1300 },
    { type: "vertex.waiting", vertex: v("d", "[4/4] RUN make install"), time: 1300 },
    { type: "vertex.started", vertex: { ...v("h", "internal helper"), hidden: true }, time: 1300 },
    { type: "vertex.log", digest: "c", stream: 1, data: Buffer.from("1\n2\n3\n4\n5\n6\n7\n\u001b[32mcc -c main.c\u001b[0m"), time: 1400 },
    { type: "vertex.progress", digest: "c", id: "layer pull", current: 1_000_000, total: 10_000_000, time: 1400 },
    { type: "vertex.progress", digest: "c", id: "layer pull", current: 3_000_000, total: 10_000_000, time: 2400 },
  ];
  for (const e of events) view.apply(e);
  return view;
}

describe("tty view frames", () => {
  it("shows a status with its duration and done, not as bytes", () => {
    const view = new TtyView();
    view.apply({ type: "vertex.started", vertex: v("e", "exporting to image"), time: 1000 });
    view.apply({ type: "vertex.progress", digest: "e", id: "exporting layers", current: 0, completed: false, started: 1000, time: 1000 });
    expect(text(view, { width: 50, height: 10, now: 1500 })).toContain(" => => exporting layers");
    view.apply({ type: "vertex.progress", digest: "e", id: "exporting layers", current: 0, completed: true, started: 1000, time: 1300 });
    expect(text(view, { width: 50, height: 10, now: 1500 })).toContain(" => => exporting layers                  0.3s done");
  });

  it("shows each step's state, timers, logs and byte counters, cut to the width", () => {
    expect(text(scripted(), { width: 40, height: 30, now: 3750 })).toEqual([
      "[+] Building 2.7s (2/4)",
      " => CACHED [1/4] FROM docker.io/library…",
      " => DONE [2/4] COPY . /app          0.3s",
      " => RUNNING [3/4] RUN make all      2.4s",
      " => => layer pull 3.00MB / 10.… 2.00MB/s",
      " => => # 3",
      " => => # 4",
      " => => # 5",
      " => => # 6",
      " => => # 7",
      " => => # cc -c main.c",
      " => WAITING [4/4] RUN make install",
    ]);
  });

  it("collapses finished steps, then log lines, then waiting steps when taller than the terminal", () => {
    const view = scripted();
    expect(text(view, { width: 60, height: 9, now: 3750 })).toEqual([
      "[+] Building 2.7s (2/4)",
      " => 2 finished steps hidden",
      " => RUNNING [3/4] RUN make all                          2.4s",
      " => => layer pull 3.00MB / 10.0MB                   2.00MB/s",
      " => => # 4",
      " => => # 5",
      " => => # 6",
      " => => # 7",
      " => => # cc -c main.c",
      " => WAITING [4/4] RUN make install",
    ].filter((l) => l !== " => => # 4"));
    const tiny = text(view, { width: 60, height: 4, now: 3750 });
    expect(tiny).toHaveLength(4);
    expect(tiny.slice(0, 3)).toEqual(["[+] Building 2.7s (2/4)", " => 2 finished steps hidden", " => RUNNING [3/4] RUN make all                          2.4s"]);
    for (const w of [1, 5, 13, 40]) for (const l of text(view, { width: w, height: 50, now: 3750 })) expect([...l].length).toBeLessThanOrEqual(w);
  });

  it("draws the final frame with every step, failed logs and the error", () => {
    const view = scripted();
    view.apply({ type: "vertex.done", digest: "c", time: 4000 });
    view.apply({ type: "vertex.started", vertex: v("d", "[4/4] RUN make install"), time: 4000 });
    view.apply({ type: "vertex.log", digest: "d", stream: 2, data: Buffer.from("make: *** no rule\n"), time: 4100 });
    view.apply({ type: "vertex.error", digest: "d", error: "exit code: 2", time: 4200 });
    view.apply({ type: "warning", message: "FromAsCasing: 'as' and 'FROM' keywords' casing do not match", time: 4200 });
    expect(text(view, { width: 50, height: 3, now: 4300, final: true })).toEqual([
      "[+] Building 3.3s (4/4) ERROR",
      " => CACHED [1/4] FROM docker.io/library/busybox:l…",
      " => DONE [2/4] COPY . /app                    0.3s",
      " => DONE [3/4] RUN make all                   2.7s",
      " => ERROR [4/4] RUN make install              0.2s",
      " => => # make: *** no rule",
      " => => ERROR: exit code: 2",
      "WARNING: FromAsCasing: 'as' and 'FROM' keywords' …",
    ]);
    expect(view.busy).toBe(false);
  });

  it("drops finished byte counters before log lines when short of rows", () => {
    const view = new TtyView();
    view.apply({ type: "vertex.started", vertex: v("p", "[1/1] FROM busybox"), time: 0 });
    for (let i = 0; i < 4; i++) {
      view.apply({ type: "vertex.progress", digest: "p", id: `layer${i}`, current: i < 3 ? 1000 : 10, total: 1000, time: 0 });
    }
    view.apply({ type: "vertex.log", digest: "p", stream: 1, data: Buffer.from("resolving\n"), time: 0 });
    expect(text(view, { width: 40, height: 4, now: 1000 })).toEqual([
      "[+] Building 1.0s (0/1)",
      " => RUNNING [1/1] FROM busybox      1.0s",
      " => => layer3 10B / 1.00kB",
      " => => # resolving",
    ]);
  });

  it("marks cancelled steps", () => {
    const view = new TtyView();
    view.apply({ type: "vertex.started", vertex: v("x", "RUN sleep 60"), time: 0 });
    expect(view.busy).toBe(true);
    view.apply({ type: "vertex.error", digest: "x", error: "cancelled", time: 65_000 });
    expect(text(view, { width: 40, height: 10, now: 65_000, final: true })).toEqual([
      "[+] Building 1m05s (1/1) CANCELED",
      " => CANCELED RUN sleep 60          1m05s",
    ]);
  });
});
