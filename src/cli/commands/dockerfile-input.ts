/**
 * Shared by `build` and `graph`: the flags a `docker buildx build` user types for choosing and configuring the
 * Dockerfile (-f, --build-arg, --target, --platform), and reading the Dockerfile + .dockerignore from disk.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Argv } from "yargs";
import { UsageError } from "../../errors.js";

export interface DockerfileArgs {
  readonly context: string;
  readonly file?: string;
  readonly "build-arg"?: string | readonly string[];
  readonly target?: string;
  readonly platform?: string;
}

export function dockerfileOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .positional("context", { type: "string", default: ".", describe: "Build context directory" })
    .option("file", { alias: "f", type: "string", describe: "Name of the Dockerfile (default: CONTEXT/Dockerfile)" })
    .option("build-arg", { type: "string", requiresArg: true, describe: "Set a build-time variable (KEY=value, or KEY to take it from the environment)" })
    .option("target", { type: "string", describe: "Set the target build stage" })
    .option("platform", { type: "string", describe: "Set the target platform (e.g. linux/amd64)" }) as Argv<T>;
}

export function parseBuildArgs(values: string | readonly string[] | undefined, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  // Not a yargs array option: those swallow the CONTEXT positional. Repeated flags arrive as an array.
  for (const v of typeof values === "string" ? [values] : (values ?? [])) {
    const eq = v.indexOf("=");
    if (eq === 0) throw new UsageError(`invalid --build-arg ${JSON.stringify(v)}: the name is empty`, { hint: "use --build-arg KEY=value" });
    if (eq < 0) {
      if (env[v] !== undefined) out[v] = env[v]!;
    } else {
      out[v.slice(0, eq)] = v.slice(eq + 1);
    }
  }
  return out;
}

export interface DockerfileInput {
  readonly contextDir: string;
  readonly dockerfilePath: string;
  /** The name shown in messages (as the user gave it, or `Dockerfile`). */
  readonly filename: string;
  readonly text: string;
}

export async function readDockerfile(args: DockerfileArgs): Promise<DockerfileInput> {
  const contextDir = resolve(args.context);
  const dockerfilePath = args.file !== undefined ? resolve(args.file) : resolve(contextDir, "Dockerfile");
  const filename = args.file ?? "Dockerfile";
  let text: string;
  try {
    text = await readFile(dockerfilePath, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read Dockerfile ${dockerfilePath}${code ? ` (${code})` : ""}`, {
      hint: args.file === undefined ? "run in a directory with a Dockerfile, give the context directory, or use -f PATH" : "check the path given to -f",
    });
  }
  return { contextDir, dockerfilePath, filename, text };
}
