import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ExecutorError } from "./errors.js";

let cached: string | undefined;

/** The `native/` directory of this checkout or package (searched upwards from this module, src or dist). */
export function nativeDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, "native", "main.c"))) return join(dir, "native");
    dir = dirname(dir);
  }
  throw new ExecutorError("TSB_EXECUTOR_NATIVE", "cannot find tsbuild's native/ sources next to the installed code", {
    hint: "reinstall tsbuild, or set TSBUILD_HELPER to a built tsbuild-helper binary",
  });
}

/**
 * The path of the built `tsbuild-helper`, compiled with the machine's `cc` on first use and cached by the hash of
 * its sources (in native/build/, or in a per-user temp dir when that is not writable). `TSBUILD_HELPER` overrides.
 */
export function helperPath(): string {
  if (cached) return cached;
  const env = process.env.TSBUILD_HELPER;
  if (env) return (cached = env);
  const src = nativeDir();
  const SOURCES = readdirSync(src).filter((f) => /\.[ch]$/.test(f)).sort();
  const h = createHash("sha256");
  for (const f of SOURCES) h.update(f).update("\0").update(readFileSync(join(src, f)));
  const name = `tsbuild-helper-${h.digest("hex").slice(0, 16)}`;
  const primary = join(src, "build");
  const fallback = join(tmpdir(), `tsbuild-helper-${hostUid()}`);
  for (const dir of [primary, fallback]) {
    const p = join(dir, name);
    if (isExecutable(p)) return (cached = p);
  }
  const dir = writableDir(primary) ?? writableDir(fallback, 0o700);
  if (!dir) {
    throw new ExecutorError("TSB_EXECUTOR_NATIVE", `cannot write the native helper to ${primary} or ${fallback}`, {
      hint: "run `npm run build` once as the owner of the checkout, or set TSBUILD_HELPER",
    });
  }
  const out = join(dir, name);
  const tmp = `${out}.${process.pid}.tmp`;
  const cc = process.env.CC ?? "cc";
  const r = spawnSync(cc, ["-O2", "-Wall", "-o", tmp, ...SOURCES.filter((f) => f.endsWith(".c")).map((f) => join(src, f))], {
    encoding: "utf8",
  });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    const why = r.error ? r.error.message : r.stderr.trim().split("\n").slice(0, 5).join("\n");
    throw new ExecutorError("TSB_EXECUTOR_NATIVE", `cannot compile tsbuild's native helper with ${cc}: ${why}`, {
      hint: "install a C compiler (Debian: apt-get install gcc libc6-dev)",
    });
  }
  chmodSync(tmp, 0o755);
  renameSync(tmp, out);
  for (const old of safeReaddir(dir)) if (old.startsWith("tsbuild-helper-") && old !== name && !old.endsWith(".tmp")) rmSync(join(dir, old), { force: true });
  return (cached = out);
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function writableDir(dir: string, mode = 0o755): string | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode });
    accessSync(dir, constants.W_OK);
    if (mode === 0o700 && statSync(dir).uid !== process.getuid?.()) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The host uid of this process (the uid that session root maps to, inside a session). */
function hostUid(): number {
  try {
    const line = readFileSync("/proc/self/uid_map", "utf8").trim().split("\n")[0]!.trim().split(/\s+/);
    if (line[0] === "0" && line[1] !== undefined && process.getuid?.() === 0) return Number(line[1]);
  } catch {
    // not Linux: fall through
  }
  return process.getuid?.() ?? 0;
}
