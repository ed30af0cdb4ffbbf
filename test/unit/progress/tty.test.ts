import { afterEach, beforeEach, describe, expect, it, jest } from "@jest/globals";
import { EventEmitter } from "node:events";
import { TtyRenderer, type SignalHooks } from "../../../src/progress/render/tty.js";

const HIDE = "\u001b[?25l";
const SHOW = "\u001b[?25h";

class FakeTty extends EventEmitter {
  columns = 40;
  rows = 10;
  readonly writes: string[] = [];
  write(s: string): boolean {
    this.writes.push(s);
    return true;
  }
  take(): string {
    const s = this.writes.join("");
    this.writes.length = 0;
    return s;
  }
}

class FakeSignals implements SignalHooks {
  readonly listeners = new Map<string, ((s?: unknown) => void)[]>();
  readonly killed: string[] = [];
  readonly pid = 4242;
  others = 0;
  on(ev: string, fn: (s?: unknown) => void): void {
    this.listeners.set(ev, [...(this.listeners.get(ev) ?? []), fn]);
  }
  off(ev: string, fn: (s?: unknown) => void): void {
    this.listeners.set(ev, (this.listeners.get(ev) ?? []).filter((f) => f !== fn));
  }
  listenerCount(ev: string): number {
    return (this.listeners.get(ev)?.length ?? 0) + this.others;
  }
  kill(_pid: number, sig: string): void {
    this.killed.push(sig);
  }
  emit(ev: string): void {
    for (const f of [...(this.listeners.get(ev) ?? [])]) f(ev);
  }
}

/** A step line as drawn on a 40-column terminal: 39 cells, the time flush right. */
const row = (left: string, right: string, width = 39): string => left + " ".repeat(width - left.length - right.length) + right;
const started = (d: string, name: string, time: number) => ({ type: "vertex.started" as const, vertex: { digest: d, name }, time });

describe("tty renderer (terminal driver)", () => {
  let clock = 0;
  beforeEach(() => {
    jest.useFakeTimers();
    clock = 0;
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it("hides the cursor, draws at once, then redraws only changed lines at most every 100 ms", () => {
    const tty = new FakeTty();
    const r = new TtyRenderer(tty, { now: () => clock });
    r.write({ type: "vertex.cached", vertex: { digest: "a", name: "FROM busybox" }, time: 0 });
    r.write(started("b", "RUN make", 0));
    expect(tty.take()).toBe(`${HIDE}\u001b[2K[+] Building 0.0s (1/1)\r\n\u001b[2K => CACHED FROM busybox\r\n`);
    // Events between two ticks are coalesced into one redraw.
    r.write({ type: "vertex.log", digest: "b", stream: 1, data: Buffer.from("a\n"), time: 10 });
    r.write({ type: "vertex.log", digest: "b", stream: 1, data: Buffer.from("b\n"), time: 20 });
    expect(tty.take()).toBe("");
    clock = 1500;
    jest.advanceTimersByTime(100);
    expect(tty.take()).toBe(
      "\u001b[2A\r" +
        "\u001b[2K[+] Building 1.5s (1/2)\r\n" +
        "\u001b[1B" +
        `\u001b[2K${row(" => RUNNING RUN make", "1.5s")}\r\n` +
        "\u001b[2K => => # a\r\n" +
        "\u001b[2K => => # b\r\n",
    );
    // A running step's timer keeps redrawing; only the lines that changed are rewritten.
    clock = 1600;
    jest.advanceTimersByTime(100);
    expect(tty.take()).toBe(
      `\u001b[5A\r\u001b[2K[+] Building 1.6s (1/2)\r\n\u001b[1B\u001b[2K${row(" => RUNNING RUN make", "1.6s")}\r\n\u001b[1B\u001b[1B`,
    );
    r.write({ type: "vertex.done", digest: "b", time: 1600 });
    jest.advanceTimersByTime(100);
    // Shorter frame: clear what is left below.
    expect(tty.take()).toBe(
      `\u001b[5A\r\u001b[2K[+] Building 1.6s (2/2)\r\n\u001b[1B\u001b[2K${row(" => DONE RUN make", "1.6s")}\r\n\u001b[J`,
    );
    jest.advanceTimersByTime(1000);
    expect(tty.take()).toBe("");
    r.summary({ digest: "sha256:abc", tags: ["app:1"], durationMs: 1700 });
    r.close();
    expect(tty.take()).toBe(
      "\u001b[3A\r\u001b[2K[+] Building 1.6s (2/2) FINISHED\r\n\u001b[1B\u001b[1B" +
        "Build finished in 1.7s: 2 steps, 1 cached\nimage sha256:abc\ntagged app:1\n" +
        SHOW,
    );
    r.write(started("c", "RUN late", 2000));
    jest.advanceTimersByTime(500);
    expect(tty.take()).toBe("");
  });

  it("colours lines when asked, keeping the text cut to the width", () => {
    const tty = new FakeTty();
    const r = new TtyRenderer(tty, { now: () => clock, color: true });
    r.write({ type: "vertex.started", vertex: { digest: "x", name: "RUN false" }, time: 0 });
    r.write({ type: "vertex.error", digest: "x", error: "exit code: 1", time: 0 });
    r.close();
    expect(tty.take()).toContain(`\u001b[31m${row(" => ERROR RUN false", "0.0s")}\u001b[0m`);
  });

  it("redraws from scratch after a resize, undoing the terminal's re-wrap of the old frame", () => {
    const tty = new FakeTty();
    const r = new TtyRenderer(tty, { now: () => clock });
    r.write(started("b", "RUN a command with a rather long name", 0));
    tty.take();
    tty.columns = 20;
    tty.emit("resize");
    // Old frame: a 23-cell header (2 rows at 20 columns) and a 39-cell step line (2 rows).
    expect(tty.take()).toBe("\u001b[4A\r\u001b[J\u001b[2K[+] Building 0.0s …\r\n\u001b[2K => RUNNING R… 0.0s\r\n");
    r.close();
  });

  it("restores the cursor on Ctrl-C and re-raises it when nobody else handles it", () => {
    const tty = new FakeTty();
    const sig = new FakeSignals();
    const r = new TtyRenderer(tty, { now: () => clock, signals: sig });
    r.write(started("b", "RUN sleep", 0));
    sig.others = 1; // the CLI's own handler cancels the build
    sig.emit("SIGINT");
    expect(tty.take().endsWith(SHOW)).toBe(true);
    expect(sig.killed).toEqual([]);
    sig.others = 0;
    const r2 = new TtyRenderer(tty, { now: () => clock, signals: sig });
    r2.write(started("c", "RUN sleep", 0));
    r.close();
    tty.take();
    sig.emit("SIGINT");
    expect(tty.take().endsWith(SHOW)).toBe(true);
    expect(sig.killed).toEqual(["SIGINT"]);
    expect(sig.listenerCount("SIGINT")).toBe(0);
  });

  it("restores the cursor at process exit", () => {
    const tty = new FakeTty();
    const sig = new FakeSignals();
    const r = new TtyRenderer(tty, { now: () => clock, signals: sig });
    r.write(started("b", "RUN x", 0));
    tty.take();
    sig.emit("exit");
    expect(tty.take()).toBe(SHOW);
    r.close();
  });
});
