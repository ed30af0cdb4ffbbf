import type { ProgressEvent } from "../events.js";
import { formatSummary, type BuildSummary } from "../summary.js";
import { displayWidth } from "./text.js";
import { TtyView, type Tone, type ViewLine } from "./tty-view.js";

/** The terminal stream the live view draws on (process.stderr when it is a TTY). */
export interface TtyStream {
  write(chunk: string): unknown;
  /** Current size; read again on every `resize` event when the stream emits them (tty.WriteStream does). */
  readonly columns?: number;
  readonly rows?: number;
  on?(event: "resize", listener: () => void): unknown;
  off?(event: "resize", listener: () => void): unknown;
}

/** The bits of `process` the renderer needs to restore the cursor on Ctrl-C and exit. */
export interface SignalHooks {
  on(event: "SIGINT" | "SIGTERM" | "exit", listener: (signal?: unknown) => void): unknown;
  off(event: "SIGINT" | "SIGTERM" | "exit", listener: (signal?: unknown) => void): unknown;
  listenerCount(event: "SIGINT" | "SIGTERM"): number;
  kill(pid: number, signal: "SIGINT" | "SIGTERM"): unknown;
  readonly pid: number;
}

export interface TtyRendererOptions {
  /** Initial width and height; the stream's own `columns`/`rows` win when present. */
  readonly columns?: number;
  readonly rows?: number;
  readonly color?: boolean;
  /** Clock used for timers. @default Date.now */
  readonly now?: () => number;
  /** Redraw period. @default 100 (10 redraws per second) */
  readonly intervalMs?: number;
  /** Where to hook SIGINT/SIGTERM/exit; omit to hook nothing. */
  readonly signals?: SignalHooks;
}

const HIDE_CURSOR = "\u001b[?25l";
const SHOW_CURSOR = "\u001b[?25h";
const CLEAR_LINE = "\u001b[2K";
const CLEAR_DOWN = "\u001b[J";
const SGR: Record<Tone, string> = { plain: "", dim: "2", blue: "34", red: "31", yellow: "33", bold: "1" };

/**
 * The live view: redrawn in place at most 10 times a second, rewriting only lines that changed, never wider than
 * the terminal (lines are cut with `…`, never wrapped, so the cursor arithmetic stays exact) and never taller than
 * it (the view collapses). The cursor is hidden while the view is live and shown again on close, Ctrl-C, SIGTERM
 * and process exit.
 */
export class TtyRenderer {
  readonly #out: TtyStream;
  readonly #view = new TtyView();
  readonly #now: () => number;
  readonly #color: boolean;
  readonly #intervalMs: number;
  readonly #signals: SignalHooks | undefined;
  #columns: number;
  #rows: number;
  /** The frame on screen, as written (coloured); the cursor sits at column 0 of the line below it. */
  #prev: string[] = [];
  /** Cells each line of #prev occupies, to undo a terminal's reflow after a resize. */
  #prevWidths: number[] = [];
  #resized = false;
  #dirty = false;
  #cursorHidden = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #summary: BuildSummary | undefined;

  constructor(out: TtyStream, opts: TtyRendererOptions = {}) {
    this.#out = out;
    this.#now = opts.now ?? Date.now;
    this.#color = opts.color ?? false;
    this.#intervalMs = opts.intervalMs ?? 100;
    this.#signals = opts.signals;
    this.#columns = out.columns ?? opts.columns ?? 80;
    this.#rows = out.rows ?? opts.rows ?? 24;
    out.on?.("resize", this.#onResize);
    if (this.#signals) {
      this.#signals.on("SIGINT", this.#onSignal);
      this.#signals.on("SIGTERM", this.#onSignal);
      this.#signals.on("exit", this.#onExit);
    }
  }

  readonly write = (e: ProgressEvent): void => {
    if (this.#closed) return;
    this.#view.apply(e);
    this.#dirty = true;
    if (this.#timer === undefined) {
      this.#draw();
      this.#timer = setInterval(this.#tick, this.#intervalMs);
      this.#timer.unref?.();
    }
  };

  /** Remember the summary; it is printed under the final frame by close() (or at once, after close). */
  summary(s: BuildSummary): void {
    if (this.#closed) this.#out.write(this.#summaryText(s));
    else this.#summary = s;
  }

  /** Draw the final frame (every step), print the summary, show the cursor and unhook. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#prev.length > 0 || this.#view.counts.steps > 0) {
      this.#paint(this.#view.frame({ width: this.#width(), height: Infinity, now: this.#now(), final: true }));
    }
    if (this.#summary) this.#out.write(this.#summaryText(this.#summary));
    this.#showCursor();
    this.#out.off?.("resize", this.#onResize);
    if (this.#signals) {
      this.#signals.off("SIGINT", this.#onSignal);
      this.#signals.off("SIGTERM", this.#onSignal);
      this.#signals.off("exit", this.#onExit);
    }
  }

  #width(): number {
    // One cell short of the edge: a line that fills the last column leaves some terminals in a pending-wrap state.
    return Math.max(1, this.#columns - 1);
  }

  readonly #tick = (): void => {
    if (this.#dirty || this.#resized || this.#view.busy) this.#draw();
  };

  #draw(): void {
    this.#dirty = false;
    // Keep the line the cursor sits on free, so the frame never scrolls out of reach of cursor-up.
    this.#paint(this.#view.frame({ width: this.#width(), height: Math.max(1, this.#rows - 1), now: this.#now() }));
  }

  #paint(lines: readonly ViewLine[]): void {
    const next = lines.map((l) => this.#style(l));
    let s = "";
    if (!this.#cursorHidden) {
      s += HIDE_CURSOR;
      this.#cursorHidden = true;
    }
    let prev = this.#prev;
    if (this.#resized) {
      // The terminal may have re-wrapped the old frame to the new width: go up by the rows it now takes, clear, redraw.
      const up = this.#prevWidths.reduce((n, w) => n + Math.max(1, Math.ceil(w / Math.max(1, this.#columns))), 0);
      s += (up > 0 ? `\u001b[${up}A` : "") + `\r${CLEAR_DOWN}`;
      prev = [];
      this.#resized = false;
    } else if (prev.length > 0) {
      s += `\u001b[${prev.length}A\r`;
    }
    for (let i = 0; i < next.length; i++) {
      if (i < prev.length && prev[i] === next[i]) s += "\u001b[1B";
      else s += `${CLEAR_LINE}${next[i]}\r\n`;
    }
    if (next.length < prev.length) s += CLEAR_DOWN;
    this.#out.write(s);
    this.#prev = next;
    this.#prevWidths = lines.map((l) => displayWidth(l.text));
  }

  #style(l: ViewLine): string {
    const code = SGR[l.tone];
    return this.#color && code ? `\u001b[${code}m${l.text}\u001b[0m` : l.text;
  }

  #summaryText(s: BuildSummary): string {
    // Not cut to the width: it is printed once, below the view, and users copy the digest and tags from it.
    return formatSummary(s, this.#view.counts, this.#now()).map((l) => `${l}\n`).join("");
  }

  #showCursor(): void {
    if (!this.#cursorHidden) return;
    this.#cursorHidden = false;
    this.#out.write(SHOW_CURSOR);
  }

  readonly #onResize = (): void => {
    const cols = this.#out.columns ?? this.#columns;
    const rows = this.#out.rows ?? this.#rows;
    if (cols === this.#columns && rows === this.#rows) return;
    this.#columns = cols;
    this.#rows = rows;
    this.#resized = true;
    if (!this.#closed && this.#prev.length > 0) this.#draw();
  };

  readonly #onSignal = (signal?: unknown): void => {
    this.#showCursor();
    const sig = signal === "SIGTERM" ? "SIGTERM" : "SIGINT";
    const hooks = this.#signals;
    if (hooks && hooks.listenerCount(sig) <= 1) {
      // Nobody else handles it: behave as if we had not hooked it (the default action ends the process).
      this.close();
      hooks.kill(hooks.pid, sig);
    }
  };

  readonly #onExit = (): void => {
    this.#showCursor();
  };

  /** Tests: the frame as it is on screen. */
  get screen(): readonly string[] {
    return this.#prev;
  }
}
