import type { ProgressEvent, VertexInfo } from "../events.js";
import { LogRing } from "../log-ring.js";
import { formatDuration, StepCounts } from "../summary.js";
import { formatBytes } from "./plain.js";
import { fitLine, sanitizeLine, truncate } from "./text.js";

/** How a line should look; the terminal driver maps tones to colours (or to nothing). */
export type Tone = "plain" | "dim" | "blue" | "red" | "yellow" | "bold";

export interface ViewLine {
  /** Already cut to the frame width; contains no escape sequences. */
  readonly text: string;
  readonly tone: Tone;
}

export interface FrameOptions {
  readonly width: number;
  /** Maximum number of lines; finished steps, then log lines, then waiting steps collapse to fit. */
  readonly height: number;
  readonly now: number;
  /** The last frame of a build: every step, logs only for failed steps, no height limit. */
  readonly final?: boolean;
}

type State = "waiting" | "running" | "cached" | "done" | "error" | "cancelled";

interface Counter {
  readonly id: string;
  current: number;
  total: number | undefined;
  /** A status (see the `completed` field of vertex.progress): done when true; undefined for byte counters. */
  completed: boolean | undefined;
  readonly firstTime: number;
  readonly firstCurrent: number;
  time: number;
}

interface Step {
  readonly n: number;
  vertex: VertexInfo;
  state: State;
  started?: number;
  ended?: number;
  error?: string;
  readonly counters: Map<string, Counter>;
}

const STATE_WORD: Record<State, string> = {
  waiting: "WAITING",
  running: "RUNNING",
  cached: "CACHED",
  done: "DONE",
  error: "ERROR",
  cancelled: "CANCELED",
};

/** The live view's model: steps in order of first appearance, their state, last log lines and byte counters. */
export class TtyView {
  readonly #steps = new Map<string, Step>();
  readonly #logs: LogRing;
  readonly counts = new StepCounts();
  readonly #warnings: string[] = [];
  #first: number | undefined;

  /** @param logLines log lines shown under a running step. @default 6 */
  constructor(logLines = 6) {
    this.#logs = new LogRing(logLines);
  }

  apply(e: ProgressEvent): void {
    this.counts.add(e);
    this.#logs.write(e);
    this.#first ??= e.time;
    switch (e.type) {
      case "vertex.waiting":
        if (!e.vertex.hidden && !this.#steps.has(e.vertex.digest)) this.#add(e.vertex, "waiting");
        return;
      case "vertex.started":
      case "vertex.cached": {
        if (e.vertex.hidden) return;
        const s = this.#steps.get(e.vertex.digest) ?? this.#add(e.vertex, "waiting");
        s.vertex = e.vertex;
        s.state = e.type === "vertex.started" ? "running" : "cached";
        if (e.type === "vertex.started") s.started = e.time;
        return;
      }
      case "vertex.progress": {
        const s = this.#steps.get(e.digest);
        if (!s) return;
        const c = s.counters.get(e.id);
        if (c) {
          c.current = e.current;
          c.total = e.total ?? c.total;
          c.completed = e.completed ?? c.completed;
          c.time = e.time;
        } else {
          s.counters.set(e.id, { id: e.id, current: e.current, total: e.total, completed: e.completed, firstTime: e.started ?? e.time, firstCurrent: e.current, time: e.time });
        }
        return;
      }
      case "vertex.done":
      case "vertex.error": {
        const s = this.#steps.get(e.digest);
        if (!s) return;
        s.ended = e.time;
        if (e.type === "vertex.done") s.state = "done";
        else if (e.error === "cancelled") s.state = "cancelled";
        else {
          s.state = "error";
          s.error = e.error;
        }
        return;
      }
      case "warning":
        this.#warnings.push(e.message);
        return;
      case "vertex.log":
        return;
    }
  }

  /** True while some step is running (its timer needs redrawing). */
  get busy(): boolean {
    for (const s of this.#steps.values()) if (s.state === "running") return true;
    return false;
  }

  /** The lines of one frame, at most `height` unless final. */
  frame(o: FrameOptions): ViewLine[] {
    const width = Math.max(1, o.width);
    const steps = [...this.#steps.values()];
    const blocks = steps.map((s) => ({ step: s, head: this.#stepLine(s, width, o.now), ...this.#subLines(s, width, o) }));
    const header = this.#header(width, o);
    if (o.final) {
      const warnings = this.#warnings.map((w): ViewLine => ({ text: truncate(`WARNING: ${sanitizeLine(w)}`, width), tone: "yellow" }));
      return [header, ...blocks.flatMap((b) => [b.head, ...b.counters, ...b.logs, ...b.error]), ...warnings];
    }

    const height = Math.max(1, o.height);
    let logCap = Infinity;
    let hideDoneCounters = false;
    let hiddenFinished = 0;
    let hiddenWaiting = 0;
    const finished = blocks.filter((b) => b.step.state === "done" || b.step.state === "cached");
    const waiting = blocks.filter((b) => b.step.state === "waiting");
    const compose = (): ViewLine[] => {
      const lines: ViewLine[] = [header];
      const hideF = new Set(finished.slice(0, hiddenFinished));
      const hideW = new Set(waiting.slice(waiting.length - hiddenWaiting));
      if (hiddenFinished > 0) lines.push({ text: truncate(` => ${hiddenFinished} finished steps hidden`, width), tone: "dim" });
      for (const b of blocks) {
        if (hideF.has(b) || hideW.has(b)) continue;
        const counters = hideDoneCounters ? b.counters.filter((c) => !c.done) : b.counters;
        lines.push(b.head, ...counters, ...b.logs.slice(Math.max(0, b.logs.length - logCap)), ...b.error);
      }
      if (hiddenWaiting > 0) lines.push({ text: truncate(` => ${hiddenWaiting} more ${hiddenWaiting === 1 ? "step" : "steps"} waiting`, width), tone: "dim" });
      return lines;
    };
    let lines = compose();
    // Hiding a single step buys nothing: the "hidden" line takes its place.
    while (lines.length > height && finished.length > 1 && hiddenFinished < finished.length) {
      hiddenFinished = Math.min(finished.length, Math.max(2, hiddenFinished + lines.length - height + (hiddenFinished === 0 ? 1 : 0)));
      lines = compose();
    }
    if (lines.length > height) {
      hideDoneCounters = true;
      lines = compose();
    }
    while (lines.length > height && logCap > 0) {
      logCap = logCap === Infinity ? 5 : logCap - 1;
      lines = compose();
    }
    while (lines.length > height && waiting.length > 1 && hiddenWaiting < waiting.length) {
      hiddenWaiting = Math.min(waiting.length, Math.max(2, hiddenWaiting + lines.length - height + (hiddenWaiting === 0 ? 1 : 0)));
      lines = compose();
    }
    return lines.slice(0, height);
  }

  #add(vertex: VertexInfo, state: State): Step {
    const s: Step = { n: this.#steps.size + 1, vertex, state, counters: new Map() };
    this.#steps.set(vertex.digest, s);
    return s;
  }

  #header(width: number, o: FrameOptions): ViewLine {
    const all = [...this.#steps.values()];
    const finished = all.filter((s) => s.state !== "waiting" && s.state !== "running").length;
    const failed = all.some((s) => s.state === "error");
    const cancelled = all.some((s) => s.state === "cancelled");
    const verdict = !o.final ? "" : failed ? " ERROR" : cancelled ? " CANCELED" : " FINISHED";
    const time = formatDuration(this.#first === undefined ? 0 : o.now - this.#first);
    return { text: truncate(`[+] Building ${time} (${finished}/${all.length})${verdict}`, width), tone: failed ? "red" : "bold" };
  }

  #stepLine(s: Step, width: number, now: number): ViewLine {
    const name = sanitizeLine(s.vertex.name);
    const left = ` => ${STATE_WORD[s.state]} ${name}`;
    let right = "";
    if (s.state === "running" && s.started !== undefined) right = formatDuration(now - s.started);
    else if ((s.state === "done" || s.state === "error" || s.state === "cancelled") && s.started !== undefined && s.ended !== undefined) {
      right = formatDuration(s.ended - s.started);
    }
    const tone: Tone = s.state === "error" ? "red" : s.state === "cancelled" ? "yellow" : s.state === "waiting" ? "dim" : s.state === "running" ? "plain" : "blue";
    return { text: fitLine(left, right, width), tone };
  }

  #subLines(s: Step, width: number, o: FrameOptions): { counters: (ViewLine & { readonly done: boolean })[]; logs: ViewLine[]; error: ViewLine[] } {
    const counters: (ViewLine & { readonly done: boolean })[] = [];
    const logs: ViewLine[] = [];
    const error: ViewLine[] = [];
    if (s.state === "running" && !o.final) {
      for (const c of s.counters.values()) {
        counters.push({ text: counterLine(c, width), tone: "plain", done: counterDone(c) });
      }
    }
    if ((s.state === "running" && !o.final) || s.state === "error") {
      for (const l of this.#logs.tail(s.vertex.digest)) logs.push({ text: truncate(` => => # ${l}`, width), tone: "dim" });
    }
    if (s.state === "error" && s.error) error.push({ text: truncate(` => => ERROR: ${sanitizeLine(s.error)}`, width), tone: "red" });
    return { counters, logs, error };
  }
}

function counterDone(c: Counter): boolean {
  return c.completed ?? (c.total !== undefined && c.current >= c.total);
}

function counterLine(c: Counter, width: number): string {
  const secs = (c.time - c.firstTime) / 1000;
  if (c.completed !== undefined) {
    // A status: bytes only when counted, then its duration (BuildKit's tty display).
    const bytes = c.total ? ` ${formatBytes(c.current)} / ${formatBytes(c.total)}` : c.current ? ` ${formatBytes(c.current)}` : "";
    return fitLine(` => => ${sanitizeLine(c.id)}${bytes}`, `${secs > 0.01 ? `${secs.toFixed(1)}s ` : ""}${c.completed ? "done" : ""}`.trim(), width);
  }
  const amount = c.total !== undefined ? `${formatBytes(c.current)} / ${formatBytes(c.total)}` : formatBytes(c.current);
  const done = counterDone(c);
  let right = "";
  if (done) right = "done";
  else if (secs >= 0.2 && c.current > c.firstCurrent) right = `${formatBytes(Math.round((c.current - c.firstCurrent) / secs))}/s`;
  return fitLine(` => => ${sanitizeLine(c.id)} ${amount}`, right, width);
}
