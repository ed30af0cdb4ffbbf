/**
 * Helpers of the end-to-end tests that drive the bundled CLI (bin/tsbuild.js) as a user does: temp roots with the
 * busybox base imported, builds with rawjson progress parsed into events, `tsbuild doctor --json`, and checks that
 * nothing of a build (sandbox processes, mounts) outlives it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { findSandboxProcesses, type SandboxProcess } from "../../src/executor/index.js";
import { busyboxRootfsTar } from "./base-images.js";

export const repo = resolve(import.meta.dirname, "../..");
/** The CLI under test; `TSBUILD_E2E_BIN` points the tests at another copy (e.g. a bundle not being rebuilt). */
const bin = process.env.TSBUILD_E2E_BIN ?? join(repo, "bin/tsbuild.js");

export interface CliResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Fail early when the bundle is missing (npm test builds it). */
export function requireBundle(): void {
  if (!process.env.TSBUILD_E2E_BIN && !existsSync(join(repo, "dist/cli.js"))) throw new Error("dist/cli.js is missing: run 'node scripts/bundle.mjs' (npm test does it)");
}

/** The environment of a CLI run: only PATH and HOME of the test, plus `env`. */
export function cliEnv(env: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? tmpdir(), ...env };
}

/** Run the CLI to completion. */
export function tsbuild(args: readonly string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): CliResult {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    input: "",
    env: cliEnv(opts.env),
    cwd: opts.cwd ?? repo,
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 << 20,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

/** A CLI process running in the background, with its output collected as it comes. */
export interface RunningCli {
  readonly child: ChildProcess;
  /** Output so far. */
  readonly out: { stdout: string; stderr: string };
  /** Resolves when the process has exited (never rejects). */
  readonly done: Promise<CliResult>;
  /** Resolves when stderr contains a line matching `re` (rejects if the process exits first). */
  waitFor(re: RegExp): Promise<void>;
}

/** Start the CLI in the background. */
export function startTsbuild(args: readonly string[], opts: { env?: Record<string, string>; cwd?: string } = {}): RunningCli {
  const t0 = Date.now();
  const child = spawn(process.execPath, [bin, ...args], { env: cliEnv(opts.env), cwd: opts.cwd ?? repo, stdio: ["ignore", "pipe", "pipe"] });
  const out = { stdout: "", stderr: "" };
  const waiters: { re: RegExp; resolve: () => void; reject: (e: Error) => void }[] = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      if (w.re.test(out.stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out.stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    out.stderr += d;
    check();
  });
  const done = new Promise<CliResult>((res) => {
    child.once("close", (status, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`tsbuild exited (${status ?? signal}) before ${w.re}:\n${out.stderr.slice(-3000)}`));
      res({ status, signal, stdout: out.stdout, stderr: out.stderr, ms: Date.now() - t0 });
    });
  });
  return {
    child,
    out,
    done,
    waitFor: (re) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ re, resolve, reject });
        check();
      }),
  };
}

/** One rawjson progress event (the fields the tests look at). */
export interface RawEvent {
  readonly type: string;
  readonly name?: string;
  readonly digest?: string;
  readonly id?: string;
  readonly error?: string;
}

/** Parse the rawjson progress lines of a build's stderr (other lines are ignored; a torn last line too). */
export function rawEvents(stderr: string): RawEvent[] {
  const out: RawEvent[] = [];
  for (const line of stderr.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as RawEvent);
    } catch {
      // the process was killed mid-line
    }
  }
  return out;
}

/** Names of the Dockerfile steps (`[stage n/m] …`) with the given event type. */
export function stepNames(events: readonly RawEvent[], type: "vertex.started" | "vertex.done" | "vertex.cached"): Set<string> {
  return new Set(events.filter((e) => e.type === type && e.name?.startsWith("[") && !e.name.startsWith("[internal]")).map((e) => e.name!));
}

/** A new temp dir (caller removes it). */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `tsbuild-${prefix}-`));
}

/** Import the busybox base as `busybox` into `root` through the CLI. */
export async function importBusybox(root: string, name = "busybox"): Promise<void> {
  const tar = await busyboxRootfsTar();
  const r = tsbuild(["import", tar, name, "--root", root]);
  if (r.status !== 0) throw new Error(`tsbuild import failed (${r.status}): ${r.stderr}`);
}

/** `tsbuild doctor --json` on a root. */
export function doctor(root: string): { ok: boolean; report: any; raw: CliResult } {
  const r = tsbuild(["doctor", "--json", "--root", root]);
  let report: any;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`tsbuild doctor printed no JSON (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return { ok: r.status === 0 && report.ok === true, report, raw: r };
}

/** Sandbox processes still running on a rootfs under `root`. */
export function sandboxesUnder(root: string): SandboxProcess[] {
  return findSandboxProcesses(root);
}

/** Processes whose command line mentions `marker` (to find a build's RUN commands wherever they run). */
export function processesMatching(marker: string): string[] {
  const r = spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return r.stdout.split("\n").filter((l) => l.includes(marker) && !l.includes("ps -eo"));
}

/** Wait until `fn` is true or `ms` passed; returns the last value. */
export async function eventually(fn: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (fn()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}
