import type { CommandModule } from "yargs";
import type { LintFinding } from "../../frontend/index.js";
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
    dockerfileOptions(y)
      .option("check", { type: "boolean", default: false, describe: "Run build checks and exit without building" })
      .option("tag", { alias: "t", type: "string", requiresArg: true, describe: "Name and optionally a tag (NAME[:TAG]); repeatable" })
      .option("output", { alias: "o", type: "string", requiresArg: true, describe: "Output destination (type=oci|docker|local|tar|image|registry,dest=…); repeatable" })
      .option("push", { type: "boolean", default: false, describe: "Push the image to its registry (shorthand for -o type=registry)" })
      .option("load", { type: "boolean", default: false, describe: "Store the image for `tsbuild images` (shorthand for -o type=docker)" })
      .option("no-cache", { type: "boolean", default: false, describe: "Do not use the cache when building" })
      .option("explain", { type: "boolean", default: false, describe: "After the build, say why each step missed the cache" })
      .option("no-cache-filter", { type: "string", requiresArg: true, describe: "Do not use the cache for these stages (comma-separated or repeated)" })
      .option("pull", { type: "boolean", default: false, describe: "Always look up the newest base images in their registries" })
      .option("secret", { type: "string", requiresArg: true, describe: "Secret for RUN --mount=type=secret (id=ID,src=PATH or id=ID,env=VAR)" })
      .option("ssh", { type: "string", requiresArg: true, describe: "SSH agent for RUN --mount=type=ssh (default|ID[=SOCKET]; default is $SSH_AUTH_SOCK); repeatable" })
      .option("network", { type: "string", requiresArg: true, describe: "Default network of RUN steps: default, none or host" })
      // `docker build` flags of the classic builder that BuildKit accepts and ignores: no build container is kept.
      .option("rm", { type: "boolean", describe: "Accepted for docker build command lines; no effect (nothing is kept)" })
      .option("force-rm", { type: "boolean", describe: "Accepted for docker build command lines; no effect (nothing is kept)" })
      .option("add-host", { type: "string", requiresArg: true, describe: "Add a custom host-to-IP mapping to RUN steps' /etc/hosts (NAME:IP); repeatable" })
      .option("provenance", { type: "string", describe: "Provenance attestation: tsbuild makes none (accepted for docker buildx compatibility)" })
      .option("sbom", { type: "string", describe: "SBOM attestation: tsbuild makes none (accepted for docker buildx compatibility)" })
      .option("label", { type: "string", requiresArg: true, describe: "Set image metadata (KEY=value); repeatable" })
      .option("iidfile", { type: "string", requiresArg: true, describe: "Write the image ID to a file" })
      .option("metadata-file", { type: "string", requiresArg: true, describe: "Write build result metadata (JSON) to a file" })
      .option("progress", { type: "string", default: "auto", describe: "Progress output: auto, tty, plain, rawjson or quiet" })
      .option("quiet", { alias: "q", type: "boolean", default: false, describe: "Print only the image ID" })
      .option("build-context", { type: "string", requiresArg: true, describe: "Additional named context (NAME=DIR); repeatable" })
      .option("cache-from", { type: "string", requiresArg: true, describe: "External cache source (type=registry,ref=REG/REPO:TAG or type=local,src=DIR); repeatable" })
      .option("cache-to", { type: "string", requiresArg: true, describe: "Cache export destination (type=registry,ref=…[,mode=max] | type=local,dest=DIR | type=inline); repeatable" })
      .option("insecure-registry", { type: "string", requiresArg: true, describe: "Allow plain HTTP for this registry host; repeatable" }),
  handler: async (args) => {
    const argv = args as unknown as BuildArgs;
    if (!argv.check) {
      const { runBuild } = await import("./build-run.js");
      process.exitCode = await runBuild(args as never);
      return;
    }
    // A URL or git context is fetched to be checked, as a build would.
    const { withLocalContext } = await import("./context-input.js");
    await withLocalContext(argv, (local, shown) => check(local, shown));
  },
};

/** `build --check`: lint the Dockerfile, print the findings, throw when one is an error. */
async function check(argv: DockerfileArgs & { readonly "build-arg"?: unknown; readonly target?: string }, shownName: string | undefined): Promise<void> {
  const [errors, frontend, context] = await Promise.all([import("../../errors.js"), import("../../frontend/index.js"), import("../../context/index.js")]);
  const api = { ...errors, ...frontend, ...context };
  const read = await readDockerfile(argv);
  const input = shownName !== undefined ? { ...read, filename: shownName } : read;
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
}
