// Shared helpers of the builder benchmark: timed commands (wall time + peak RSS via /usr/bin/time), medians,
// a local docker-registry, and a registry of everything started so that run.mjs can clean up on any exit.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/** Things to undo at exit, newest first: child processes, directories, functions. */
const cleanups = [];
export function onCleanup(fn) {
  cleanups.push(fn);
}
export async function cleanupAll() {
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch (err) {
      console.error(`bench: cleanup step failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

export const log = (s) => process.stderr.write(`${s}\n`);

/** True when `bin` is on PATH. */
export function have(bin) {
  return spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;
}

/**
 * Run a command to completion; returns {ms, rssMb, stdout}. Throws with the command's output tail on failure.
 * Peak RSS comes from /usr/bin/time (the largest process of the tree that was waited for).
 */
export function run(cmd, args, opts = {}) {
  const rssFile = opts.rssFile;
  const argv = rssFile ? ["/usr/bin/time", "-f", "%M %U %S", "-o", rssFile, cmd, ...args] : [cmd, ...args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd: opts.cwd,
    env: { ...process.env, ...(opts.env ?? {}) },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    input: opts.input,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 && !opts.allowFail) {
    const tail = `${r.stdout ?? ""}\n${r.stderr ?? ""}`.trim().split("\n").slice(-25).join("\n");
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status ?? r.signal}):\n${tail}`);
  }
  let rssMb;
  let cpuMs;
  if (rssFile && existsSync(rssFile)) {
    const [kb, user, sys] = (readFileSync(rssFile, "utf8").trim().split("\n").pop() ?? "").split(" ").map(Number);
    if (Number.isFinite(kb)) rssMb = kb / 1024;
    if (Number.isFinite(user) && Number.isFinite(sys)) cpuMs = (user + sys) * 1000;
    rmSync(rssFile, { force: true });
  }
  return { ms, rssMb, cpuMs, stdout: r.stdout ?? "", status: r.status };
}

export function median(xs) {
  const s = xs.filter((x) => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function max(xs) {
  const s = xs.filter((x) => x !== undefined && Number.isFinite(x));
  return s.length ? Math.max(...s) : undefined;
}

/** Load average and a one-line description of the machine. */
export function machine() {
  const cpu = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
  const memKb = Number(readFileSync("/proc/meminfo", "utf8").match(/MemTotal:\s*(\d+)/)?.[1] ?? 0);
  const cores = readFileSync("/proc/cpuinfo", "utf8").match(/^processor\s*:/gm)?.length ?? 0;
  return { cpu, cores, memGb: Math.round(memKb / 1024 / 1024), load: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ") };
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

export async function waitFor(check, what, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up within ${ms / 1000} s`);
}

/** Start a docker-registry on a free port in `dir`; returns its host:port. Stopped by cleanupAll. */
export async function startRegistry(dir, name) {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const cfg = join(dir, `${name}.yml`);
  writeFileSync(cfg, `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, `${name}-data`)}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n`);
  const child = spawn("docker-registry", ["serve", cfg], { stdio: "ignore" });
  onCleanup(() => stopChild(child));
  await waitFor(() => fetch(`http://${host}/v2/`).then((r) => r.ok), "docker-registry");
  return { host, stop: () => stopChild(child) };
}

/** SIGTERM a child we started, SIGKILL after 10 s. */
export function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const t = setTimeout(() => child.kill("SIGKILL"), 10000);
    child.once("exit", () => {
      clearTimeout(t);
      res();
    });
    child.kill("SIGTERM");
  });
}

export const fmtS = (ms) => (ms === undefined ? "–" : `${(ms / 1000).toFixed(2)} s`);
export const fmtRatio = (a, b) => (a === undefined || b === undefined ? "–" : `${(a / b).toFixed(2)}×`);
export const fmtMb = (mb) => (mb === undefined ? "–" : `${mb.toFixed(0)} MB`);
