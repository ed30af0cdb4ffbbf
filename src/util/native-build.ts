/**
 * Compile-and-cache for tsbuild's small C programs in native/: built with the machine's `cc` on first use, cached by
 * the hash of their sources (and link flags) in native/build/, or in a per-user temp dir when that is not writable.
 * Leaf helper: throws {@link NativeBuildError} (plain data, no room error class); callers turn it into their own.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** What went wrong: no native/ directory, no writable cache directory, or the compiler failed. */
export type NativeBuildFailure = "no-sources" | "unwritable" | "compile";

/** A failed build, with what a caller needs to word its own message. */
export class NativeBuildError extends Error {
  readonly kind: NativeBuildFailure;
  /** `compile`: the compiler's first lines of output (or why it could not run). */
  readonly detail: string;
  /** `unwritable`: the cache directories tried. */
  readonly dirs: readonly string[];
  /** The compiler command (`$CC` or `cc`). */
  readonly compiler: string;
  constructor(kind: NativeBuildFailure, message: string, more: { detail?: string; dirs?: readonly string[]; compiler?: string } = {}) {
    super(message);
    this.name = "NativeBuildError";
    this.kind = kind;
    this.detail = more.detail ?? "";
    this.dirs = more.dirs ?? [];
    this.compiler = more.compiler ?? process.env.CC ?? "cc";
  }
}

/** One program to build from native/. */
export interface NativeProgram {
  /** The binary's name; the cached file is `<name>-<hash>`, and older `<name>-*` files are removed. */
  readonly name: string;
  /** Which files of native/ make up the program (`.c` files are compiled, `.h` files only hashed). */
  readonly sources: (file: string) => boolean;
  /** Linker flags after the sources, e.g. `["-ldeflate", "-lpthread"]`. Part of the cache key when given. */
  readonly libs?: readonly string[];
  /** The native/ directory; default: found next to the installed code ({@link findNativeDir}). */
  readonly dir?: string;
  /** Where to cache when `<dir>/build` is not writable; default: a per-user directory in the temp dir. */
  readonly fallbackDir?: string;
}

/** The `native/` directory of this checkout or package (searched upwards from this module, src or dist). */
export function findNativeDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, "native", "main.c"))) return join(dir, "native");
    dir = dirname(dir);
  }
  return undefined;
}

/** The per-user temp directory where binaries go when native/build is not writable. */
export function defaultFallbackDir(): string {
  return join(tmpdir(), `tsbuild-helper-${hostUid()}`);
}

/**
 * The path of the built program, compiling it first if no binary for the current sources is cached. Synchronous
 * (one `cc` run of well under a second, once per source change); concurrent builders each compile to their own
 * temp name and rename, so a reader never sees half a binary.
 */
export function buildNative(program: NativeProgram): string {
  const src = program.dir ?? findNativeDir();
  if (!src) throw new NativeBuildError("no-sources", "cannot find tsbuild's native/ sources next to the installed code");
  const files = readdirSync(src).filter((f) => /\.[ch]$/.test(f) && program.sources(f)).sort();
  const libs = program.libs ?? [];
  const h = createHash("sha256");
  for (const f of files) h.update(f).update("\0").update(readFileSync(join(src, f)));
  if (libs.length > 0) h.update(`\0libs\0${libs.join(" ")}`);
  const name = `${program.name}-${h.digest("hex").slice(0, 16)}`;
  const primary = join(src, "build");
  const fallback = program.fallbackDir ?? defaultFallbackDir();
  for (const dir of [primary, fallback]) {
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  const dir = writableDir(primary) ?? writableDir(fallback, 0o700);
  if (!dir) throw new NativeBuildError("unwritable", `cannot write ${program.name} to ${primary} or ${fallback}`, {
      dirs: [primary, fallback],
    });
  const out = join(dir, name);
  const tmp = `${out}.${process.pid}.tmp`;
  const cc = process.env.CC ?? "cc";
  const r = spawnSync(cc, ["-O2", "-Wall", "-o", tmp, ...files.filter((f) => f.endsWith(".c")).map((f) => join(src, f)), ...libs], {
    encoding: "utf8",
  });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    const why = r.error ? r.error.message : r.stderr.trim().split("\n").slice(0, 5).join("\n");
    throw new NativeBuildError("compile", `cannot compile ${program.name} with ${cc}: ${why}`, { detail: why, compiler: cc });
  }
  chmodSync(tmp, 0o755);
  renameSync(tmp, out);
  const prefix = `${program.name}-`;
  for (const old of safeReaddir(dir)) if (old.startsWith(prefix) && old !== name && !old.endsWith(".tmp")) rmSync(join(dir, old), { force: true });
  return out;
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
