/**
 * The live progress view in a real pseudo-terminal: a small node script replays scripted progress events through
 * the tty renderer inside a detached tmux session, and the tests read the screen back with `tmux capture-pane`.
 * The script's clock is driven by the events, so timers on screen are exact.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../..");

const REPLAY = `
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRenderer } from ${JSON.stringify(join(repo, "src/progress/index.ts"))};
const [phasesFile, controlFile] = process.argv.slice(2);
const phases = JSON.parse(readFileSync(phasesFile, "utf8"));
let clock = 0;
const r = await createRenderer("auto", {
  stderr: process.stderr, isTTY: process.stderr.isTTY, env: process.env, signals: process, now: () => clock,
});
writeFileSync(controlFile + ".pid", String(process.pid));
let done = 0;
const timer = setInterval(() => {
  const want = existsSync(controlFile) ? Number(readFileSync(controlFile, "utf8")) : 0;
  while (done < want) {
    const p = phases[done++];
    clock = p.clock ?? clock;
    for (const e of p.events ?? []) r.write(e.data !== undefined ? { ...e, data: Buffer.from(e.data) } : e);
    if (p.summary) r.summary(p.summary);
    if (p.close) { r.close(); clearInterval(timer); process.stdout.write("REPLAY-END\\n"); }
  }
}, 20);
`;

const v = (digest: string, name: string) => ({ digest, name });
const LONG = "[2/3] RUN make all && echo a very long command line that goes on and on";
const PHASES = [
  {
    clock: 1000,
    events: [
      { type: "vertex.cached", vertex: v("sha256:a1", "[1/3] FROM docker.io/library/busybox:latest"), time: 1000 },
      { type: "vertex.cached", vertex: v("sha256:a2", "[stage-1 1/2] FROM docker.io/library/debian:bookworm"), time: 1000 },
      { type: "vertex.cached", vertex: v("sha256:a3", "[stage-1 2/2] COPY --from=base /x /y"), time: 1000 },
      { type: "vertex.waiting", vertex: v("sha256:ccc", "[3/3] RUN make install"), time: 1000 },
      { type: "vertex.started", vertex: v("sha256:bbb", LONG), time: 1000 },
    ],
  },
  {
    clock: 3500,
    events: [
      { type: "vertex.log", digest: "sha256:bbb", stream: 1, data: "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\n", time: 3000 },
      { type: "vertex.progress", digest: "sha256:bbb", id: "sha256:0123456789ab pull", current: 1_000_000, total: 25_000_000, time: 2000 },
      { type: "vertex.progress", digest: "sha256:bbb", id: "sha256:0123456789ab pull", current: 5_000_000, total: 25_000_000, time: 3000 },
    ],
  },
  {
    clock: 4500,
    events: [
      { type: "vertex.done", digest: "sha256:bbb", time: 4200 },
      { type: "vertex.started", vertex: v("sha256:ccc", "[3/3] RUN make install"), time: 4200 },
      { type: "vertex.log", digest: "sha256:ccc", stream: 2, data: "\u001b[31mcc: error\u001b[0m\n", time: 4300 },
      { type: "vertex.error", digest: "sha256:ccc", error: "exit code: 2", time: 4500 },
    ],
  },
  { clock: 5000, summary: { digest: "sha256:feedbeef", tags: ["reg/app:1"] }, close: true },
];

let dir = "";
let script = "";

function tmux(...args: string[]): string {
  const r = spawnSync("tmux", ["-S", join(dir, "tmux.sock"), ...args], { encoding: "utf8", env: { ...process.env, TERM: "xterm-256color" } });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`tmux ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** One replay in its own tmux session. */
class Session {
  readonly #name: string;
  readonly #ctl: string;
  constructor(name: string, width: number, height: number) {
    this.#name = name;
    this.#ctl = join(dir, `${name}.ctl`);
    const phases = join(dir, `${name}.json`);
    writeFileSync(phases, JSON.stringify(PHASES));
    const cmd = `echo BEFORE; NO_COLOR=1 ${process.execPath} ${script} ${phases} ${this.#ctl}; echo EXIT=$?; sleep 600`;
    tmux("new-session", "-d", "-s", name, "-x", String(width), "-y", String(height), `sh -c '${cmd}'`);
  }
  phase(n: number): void {
    writeFileSync(this.#ctl, String(n));
  }
  screen(): string[] {
    return tmux("capture-pane", "-p", "-t", this.#name).replace(/\n+$/, "").split("\n");
  }
  /** Screen plus scrollback. */
  history(): string[] {
    return tmux("capture-pane", "-p", "-S", "-200", "-t", this.#name).replace(/\n+$/, "").split("\n");
  }
  cursorVisible(): boolean {
    return tmux("display", "-p", "-t", this.#name, "#{cursor_flag}").trim() === "1";
  }
  resize(width: number, height: number): void {
    tmux("resize-window", "-t", this.#name, "-x", String(width), "-y", String(height));
  }
  async until(what: string, pred: (screen: string[]) => boolean): Promise<string[]> {
    const deadline = Date.now() + 10_000;
    let s = this.screen();
    while (!pred(s)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; screen:\n${s.join("\n")}`);
      await new Promise((r) => setTimeout(r, 50));
      s = this.screen();
    }
    return s;
  }
  /** The replay process's pid (it writes it at start). */
  pid(): number {
    return Number(readFileSync(`${this.#ctl}.pid`, "utf8"));
  }
  kill(): void {
    spawnSync("tmux", ["-S", join(dir, "tmux.sock"), "kill-session", "-t", this.#name]);
  }
}

const has = (s: string[], re: RegExp): boolean => s.some((l) => re.test(l));
const count = (s: string[], re: RegExp): number => s.filter((l) => re.test(l)).length;

beforeAll(() => {
  if (spawnSync("tmux", ["-V"]).error) throw new Error("tmux is missing: install the Debian package 'tmux' (apt-get install tmux)");
  dir = mkdtempSync(join(tmpdir(), "tsb-tty-"));
  writeFileSync(join(dir, "replay.ts"), REPLAY);
  script = join(dir, "replay.mjs");
  const esbuild = join(repo, "node_modules/.bin/esbuild");
  const r = spawnSync(esbuild, [join(dir, "replay.ts"), "--bundle", "--platform=node", "--format=esm", `--outfile=${script}`, "--log-level=warning"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bundling the replay script failed: ${r.stderr}`);
});

afterAll(() => {
  if (!dir) return;
  spawnSync("tmux", ["-S", join(dir, "tmux.sock"), "kill-server"]);
  rmSync(dir, { recursive: true, force: true });
});

describe("tty progress view in a real terminal", () => {
  it("redraws in place: step states, timers, logs, byte counters, final frame and summary", async () => {
    const s = new Session("live", 80, 24);
    try {
      await s.until("BEFORE", (x) => x[0] === "BEFORE");
      s.phase(1);
      let screen = await s.until("first frame", (x) => has(x, /RUNNING/));
      expect(screen[1]).toBe("[+] Building 0.0s (3/5)");
      expect(screen[2]).toBe(" => CACHED [1/3] FROM docker.io/library/busybox:latest");
      expect(screen[5]).toBe(" => WAITING [3/3] RUN make install");
      expect(screen[6]).toBe(` => RUNNING ${LONG.slice(0, 61)}… 0.0s`);
      expect(s.cursorVisible()).toBe(false);

      s.phase(2);
      screen = await s.until("logs", (x) => has(x, /line 7/));
      expect(screen[1]).toBe("[+] Building 2.5s (3/5)");
      expect(screen[6]).toMatch(/^ => RUNNING \[2\/3\] RUN make all .*… 2\.5s$/);
      expect(screen[7]).toMatch(/^ => => sha256:0123456789ab pull 5\.00MB \/ 25\.0MB +4\.00MB\/s$/);
      expect(screen.slice(8, 14)).toEqual(["line 2", "line 3", "line 4", "line 5", "line 6", "line 7"].map((l) => ` => => # ${l}`));

      s.phase(3);
      screen = await s.until("error", (x) => has(x, /ERROR \[3\/3\]/));
      expect(screen).toContain(` => DONE ${LONG.slice(0, 64)}… 3.2s`);
      expect(screen).toContain(" => ERROR [3/3] RUN make install                                           0.3s");
      expect(screen).toContain(" => => # cc: error");
      expect(screen).toContain(" => => ERROR: exit code: 2");

      s.phase(4);
      screen = await s.until("end", (x) => has(x, /^EXIT=0$/));
      expect(screen[0]).toBe("BEFORE");
      expect(screen[1]).toBe("[+] Building 4.0s (5/5) ERROR");
      expect(screen).toEqual(expect.arrayContaining(["image sha256:feedbeef", "tagged reg/app:1", "REPLAY-END"]));
      expect(screen).toContain("Build finished in 4.0s: 5 steps, 3 cached");
      expect(s.cursorVisible()).toBe(true);
      // Drawn in place: one header in the whole scrollback, no leftovers of earlier frames.
      const all = s.history();
      expect(count(all, /^\[\+\] Building/)).toBe(1);
      expect(count(all, /line 7/)).toBe(0);
      expect(count(all, /WAITING|RUNNING/)).toBe(0);
    } finally {
      s.kill();
    }
  });

  it("cuts lines at 40 columns with an ellipsis and never wraps", async () => {
    const s = new Session("narrow", 40, 24);
    try {
      s.phase(2);
      const screen = await s.until("logs", (x) => has(x, /line 7/));
      for (const l of screen) expect([...l].length).toBeLessThan(40);
      expect(screen).toContain(" => CACHED [1/3] FROM docker.io/librar…");
      expect(screen).toContain(" => RUNNING [2/3] RUN make all &&… 2.5s");
      expect(screen).toContain(" => => sha256:0123456789ab pu… 4.00MB/s");
      expect(count(screen, /^\[\+\] Building 2\.5s \(3\/5\)$/)).toBe(1);
    } finally {
      s.kill();
    }
  });

  it("redraws cleanly when the terminal is resized, collapsing when it gets short", async () => {
    const s = new Session("resize", 80, 24);
    try {
      s.phase(2);
      await s.until("logs", (x) => has(x, /line 7/));
      s.resize(40, 24);
      let screen = await s.until("narrow frame", (x) => has(x, /^ => RUNNING \[2\/3\] RUN make all &&… 2\.5s$/));
      for (const l of screen) expect([...l].length).toBeLessThan(40);
      expect(count(screen, /^\[\+\] Building/)).toBe(1);
      expect(count(screen, /line 7/)).toBe(1);

      s.resize(100, 8);
      screen = await s.until("short frame", (x) => has(x, /finished steps hidden/));
      expect(screen.slice(0, 7)).toEqual([
        "[+] Building 2.5s (3/5)",
        " => 3 finished steps hidden",
        " => WAITING [3/3] RUN make install",
        ` => RUNNING ${LONG}            2.5s`,
        " => => sha256:0123456789ab pull 5.00MB / 25.0MB                                            4.00MB/s",
        " => => # line 6",
        " => => # line 7",
      ]);
      expect(count(screen, /^\[\+\] Building/)).toBe(1);

      s.resize(80, 24);
      s.phase(4);
      screen = await s.until("end", (x) => has(x, /^EXIT=0$/));
      expect(count(screen, /^\[\+\] Building .* ERROR$/)).toBe(1);
      expect(s.cursorVisible()).toBe(true);
    } finally {
      s.kill();
    }
  });

  it("restores the cursor when interrupted with Ctrl-C (SIGINT)", async () => {
    const s = new Session("sigint", 80, 24);
    try {
      s.phase(1);
      await s.until("first frame", (x) => has(x, /RUNNING/));
      expect(s.cursorVisible()).toBe(false);
      // What Ctrl-C does to the build process (sent to it alone, so the shell in the pane survives to report).
      process.kill(s.pid(), "SIGINT");
      const screen = await s.until("exit", (x) => has(x, /^EXIT=/));
      expect(screen).toContain("EXIT=130");
      expect(s.cursorVisible()).toBe(true);
    } finally {
      s.kill();
    }
  });
});
