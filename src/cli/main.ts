/**
 * cli: the only code that touches argv, stdout/stderr, TTYs and exit codes. Exit codes: 0 ok, 1 build or user
 * error, 2 usage error. Stack traces only with --debug.
 */
import { commands } from "./commands/index.js";
import { installInterruptCleanup } from "./interrupt.js";
import { renderError } from "./render-error.js";

const EXIT_OK = 0;
const EXIT_FAIL = 1;
const EXIT_USAGE = 2;

export async function main(argv: readonly string[]): Promise<number> {
  const debug = argv.includes("--debug");
  installInterruptCleanup();
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    process.stdout.write(`tsbuild version ${await packageVersion()}\n`);
    return EXIT_OK;
  }
  try {
    const early = await enterSessionEarly(argv);
    if (early !== undefined) return early;
  } catch (err) {
    return await renderError(err, { debug, stderr: process.stderr });
  }
  let usageFailure: string | undefined;
  const [{ default: yargs }, modules] = await Promise.all([import("yargs"), Promise.all(commands.map((load) => load()))]);
  let y = yargs(markStdinContext(argv))
    .scriptName("tsbuild")
    .strict()
    // Docker's flags `--no-cache`, `--no-cache-filter`, `--no-trunc` are options of their own, not negations.
    .parserConfiguration({ "boolean-negation": false })
    .option("debug", { type: "boolean", default: false, describe: "Show stack traces on errors" })
    .option("root", { type: "string", describe: "tsbuild state directory (env TSBUILD_ROOT)" })
    .help()
    .alias("help", "h")
    .version("version", "Print tsbuild's version", `tsbuild version ${await packageVersion()}`)
    .wrap(Math.min(120, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      usageFailure = msg ?? "invalid usage";
      // Throwing stops yargs here: the command's handler must not run after a usage error.
      throw new Error(usageFailure);
    });
  for (const m of modules) y = y.command(m.command);
  try {
    await y.parseAsync();
  } catch (err) {
    if (usageFailure !== undefined) return usage(usageFailure);
    const code = await renderError(err, { debug, stderr: process.stderr });
    return code;
  }
  if (usageFailure !== undefined) return usage(usageFailure);
  return typeof process.exitCode === "number" ? process.exitCode : EXIT_OK;

  function usage(msg: string): number {
    process.stderr.write(`tsbuild: ${msg}\nRun 'tsbuild --help' for usage.\n`);
    return EXIT_USAGE;
  }
}

/** The version in tsbuild's package.json (next to dist/ in the bundle, two levels up from src/cli/). */
async function packageVersion(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(await readFile(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "tsbuild" && pkg.version) return pkg.version;
    } catch {
      // not this level
    }
  }
  return "unknown";
}

/**
 * `tsbuild build` runs as session root, so its first process only re-executes itself in the session: doing that
 * before loading yargs and the command table saves a full CLI start-up on every build (the session copy parses
 * the flags and reports usage errors itself, with the same exit codes). Returns the exit code when it re-executed.
 */
async function enterSessionEarly(argv: readonly string[]): Promise<number | undefined> {
  if (argv[0] !== "build" || process.env.TSBUILD_SESSION === "1") return undefined;
  if (argv.some((a) => a === "--help" || a === "-h" || a.startsWith("--check"))) return undefined;
  // A rebuild that may be fully cached is tried outside the session first (build-fast.ts): no early re-exec.
  if (mayBeCached(argv)) return undefined;
  const { ensureSession } = await import("../executor/index.js");
  const outcome = await ensureSession(process.argv.slice(1));
  return outcome.inside ? undefined : outcome.exitCode;
}

/**
 * Flags under which `tsbuild build` tries the cached path before entering the session (a quick look at argv; the
 * build command decides with the parsed flags, see mayTryCached in build-fast.ts).
 */
function mayBeCached(argv: readonly string[]): boolean {
  if (process.env.TSBUILD_FASTPATH === "0") return false;
  const sure = /^(--no-cache|--no-cache-filter|--push|--load|--output|-o|--cache-to|--cache-from|--explain)(=|$)|^-o./;
  return !argv.some((a) => sure.test(a));
}

/** What a lone `-` as the build context becomes before yargs (whose parser drops a lone `-` positional). */
export const STDIN_CONTEXT = "\0-";

/** Flags of `build`/`graph` that take a value: a `-` right after one of them is that value (`-f -`, `-o -`). */
const VALUE_FLAGS = new Set([
  "-f", "--file", "--build-arg", "--target", "--platform", "-t", "--tag", "-o", "--output", "--no-cache-filter",
  "--secret", "--network", "--label", "--iidfile", "--metadata-file", "--progress", "--build-context", "--cache-from",
  "--cache-to", "--insecure-registry", "--root", "--format",
]);

/** `tsbuild build … -` (`docker build - < Dockerfile`): keep the lone `-` context through the flag parser. */
function markStdinContext(argv: readonly string[]): string[] {
  const cmd = argv[0];
  if (cmd !== undefined && cmd !== "build" && cmd !== "graph" && !cmd.startsWith("-")) return [...argv];
  return argv.map((a, i) => (a === "-" && !VALUE_FLAGS.has(argv[i - 1] ?? "") ? STDIN_CONTEXT : a));
}

export { EXIT_FAIL, EXIT_OK, EXIT_USAGE };
