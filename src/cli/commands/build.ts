import type { CommandModule } from "yargs";
import type { LintFinding } from "../../index.js";
import { dockerfileOptions, parseBuildArgs, readDockerfile, type DockerfileArgs } from "./dockerfile-input.js";

interface BuildArgs extends DockerfileArgs {
  readonly check: boolean;
}

/** Print one finding the way `docker buildx build --check` does: level, rule, URL, message, location and snippet. */
export function formatFinding(f: LintFinding, filename: string, text: string): string {
  const range = f.ranges[0];
  let s = `\n${f.level === "error" ? "ERROR" : "WARNING"}: ${f.rule} - ${f.url}\n${f.description}\n${f.message}\n`;
  if (range) {
    const lines = text.split(/\r?\n/);
    s += `${filename}:${range.start.line}${range.end.line !== range.start.line ? `-${range.end.line}` : ""}\n--------------------\n`;
    const first = Math.max(1, range.start.line - 2);
    const last = Math.min(lines.length, range.end.line + 2);
    for (let n = first; n <= last; n++) {
      const mark = n >= range.start.line && n <= range.end.line ? ">>>" : "   ";
      s += ` ${String(n).padStart(3)} | ${mark} ${lines[n - 1] ?? ""}\n`;
    }
    s += "--------------------\n";
  }
  return s;
}

export const command: CommandModule<object, any> = {
  command: ["build [context]", "$0 [context]"],
  describe: "Build an image from a Dockerfile",
  builder: (y) =>
    dockerfileOptions(y).option("check", { type: "boolean", default: false, describe: "Run build checks and exit without building" }),
  handler: async (args) => {
    const argv = args as unknown as BuildArgs;
    const api = await import("../../index.js");
    const input = await readDockerfile(argv);
    if (!argv.check) {
      throw new api.TsbuildError("TSB_BUILD_UNAVAILABLE", "building images is not available yet", {
        hint: "run 'tsbuild build --check' for the build checks or 'tsbuild graph' to see the build graph",
      });
    }
    const contextDir = input.contextDir;
    const ignore = await api.loadIgnoreRules({ root: contextDir, dockerfile: input.dockerfilePath });
    const result = await api.checkDockerfile(input.text, {
      filename: input.filename,
      buildArgs: parseBuildArgs(argv["build-arg"], process.env),
      ...(argv.target ? { target: argv.target } : {}),
      isIgnored: (p) => ignore.isIgnored(p).ignored,
    });
    const n = result.findings.length;
    const out = process.stdout;
    if (n === 0 && !result.error) out.write("Check complete, no warnings found.\n");
    else if (n > 0) out.write(`Check complete, ${n} ${n === 1 ? "warning has" : "warnings have"} been found!\n`);
    for (const f of result.findings) out.write(formatFinding(f, input.filename, input.text));
    if (result.error) throw result.error;
    if (result.failed) {
      const rules = [...new Set(result.findings.filter((f) => f.level === "error").map((f) => f.rule))];
      throw new api.TsbuildError("TSB_CHECK_FAILED", `lint violation found for rules: ${rules.join(", ")}`, {
        hint: "fix the findings above, or skip rules with # check=skip=<rule>",
      });
    }
  },
};
