/**
 * cli: the only code that touches argv, stdout/stderr, TTYs and exit codes. Exit codes: 0 ok, 1 build or user
 * error, 2 usage error. Stack traces only with --debug.
 */
import yargs from "yargs";
import { commands } from "./commands/index.js";
import { renderError } from "./render-error.js";

const EXIT_OK = 0;
const EXIT_FAIL = 1;
const EXIT_USAGE = 2;

export async function main(argv: readonly string[]): Promise<number> {
  const debug = argv.includes("--debug");
  let usageFailure: string | undefined;
  const modules = await Promise.all(commands.map((load) => load()));
  let y = yargs([...argv])
    .scriptName("tsbuild")
    .strict()
    // Docker's flags `--no-cache`, `--no-cache-filter`, `--no-trunc` are options of their own, not negations.
    .parserConfiguration({ "boolean-negation": false })
    .option("debug", { type: "boolean", default: false, describe: "Show stack traces on errors" })
    .option("root", { type: "string", describe: "tsbuild state directory (env TSBUILD_ROOT)" })
    .help()
    .alias("help", "h")
    .version(false)
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

export { EXIT_FAIL, EXIT_OK, EXIT_USAGE };
