/**
 * Shared by `build` and `graph`: the flags a `docker buildx build` user types for choosing and configuring the
 * Dockerfile (-f, --build-arg, --target, --platform), and reading the Dockerfile + .dockerignore from disk.
 */
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
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
    .positional("context", { type: "string", default: ".", describe: "Build context: a directory, - (a tar archive or Dockerfile on stdin), an http(s) URL or a git URL" })
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

/** A Dockerfile on standard input is at most this long. */
const STDIN_LIMIT = 32 << 20;

/**
 * The Dockerfile given on standard input (`-f -`, or `-` as the context as in `docker build - < Dockerfile`).
 * `tsbuild build` takes an archive there as the context before this is called (context-input.ts); the commands
 * that only read the Dockerfile (`build --check`, `graph`) refuse one with a hint.
 */
export async function readStdinDockerfile(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stdin) {
    const b = typeof c === "string" ? Buffer.from(c) : (c as Buffer);
    size += b.length;
    if (size > STDIN_LIMIT) throw new UsageError("the Dockerfile on standard input is larger than 32 MiB", { hint: "give a Dockerfile path with -f" });
    chunks.push(b);
  }
  const bytes = Buffer.concat(chunks);
  if (looksLikeArchive(bytes)) {
    throw new UsageError("standard input holds an archive, not a Dockerfile: this command reads only a Dockerfile there", {
      hint: "extract it and give the directory: mkdir ctx && tar -xf context.tar -C ctx (tsbuild build - < context.tar reads it as the context)",
    });
  }
  return bytes.toString("utf8");
}

function looksLikeArchive(b: Buffer): boolean {
  const starts = (...m: number[]): boolean => m.every((v, i) => b[i] === v);
  return starts(0x1f, 0x8b) || starts(0x42, 0x5a, 0x68) || starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00) || starts(0x28, 0xb5, 0x2f, 0xfd)
    || (b.length >= 262 && b.subarray(257, 262).toString("latin1") === "ustar");
}

/** The context positional as the user meant it: `-` (standard input) survives yargs as a marker. */
export function contextArg(context: string): string {
  return context === "\0-" ? "-" : context;
}

export async function readDockerfile(argsIn: DockerfileArgs): Promise<DockerfileInput> {
  const args = { ...argsIn, context: contextArg(argsIn.context) };
  if (args.file === "-" || args.context === "-") {
    if (args.file === "-" && args.context === "-") throw bothStdin();
    const text = await readStdinDockerfile();
    // `-` as the context: no context at all (a path that does not exist: no files, no .dockerignore).
    const contextDir = args.context === "-" ? join(tmpdir(), `tsbuild-no-context-${process.pid}-${Date.now()}`) : resolve(args.context);
    return { contextDir, dockerfilePath: join(contextDir, "Dockerfile"), filename: "Dockerfile", text };
  }
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

/** `-f -` together with `-` as the context. */
export function bothStdin(): UsageError {
  return new UsageError("the Dockerfile and the build context cannot both come from standard input", {
    hint: "give the context directory: tsbuild build -f - DIR < Dockerfile",
  });
}
