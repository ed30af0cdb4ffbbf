import type { CommandModule } from "yargs";
import { dockerfileOptions, parseBuildArgs, readDockerfile, type DockerfileArgs } from "./dockerfile-input.js";

interface GraphArgs extends DockerfileArgs {
  readonly format: "text" | "dot" | "mermaid" | "json";
}

/** `tsbuild graph`: compile the Dockerfile and print the build graph (base images are not resolved). */
export const command: CommandModule<object, any> = {
  command: "graph [context]",
  describe: "Print the build graph of a Dockerfile (text tree, dot, mermaid or json)",
  builder: (y) =>
    dockerfileOptions(y).option("format", { choices: ["text", "dot", "mermaid", "json"] as const, default: "text" as const, describe: "Output format" }),
  handler: async (args) => {
    const argv = args as unknown as GraphArgs;
    const [frontend, graph] = await Promise.all([import("../../frontend/index.js"), import("../../graph/index.js")]);
    const api = { ...frontend, ...graph };
    const { withLocalContext } = await import("./context-input.js");
    const input = await withLocalContext(argv, async (local, shown) => {
      const read = await readDockerfile(local);
      return shown !== undefined ? { ...read, filename: shown } : read;
    });
    const result = await api.compileText(input.text, {
      filename: input.filename,
      resolver: api.unresolvedImageResolver,
      buildArgs: parseBuildArgs(argv["build-arg"], process.env),
      ...(argv.target ? { target: argv.target } : {}),
      ...(argv.platform ? { targetPlatform: api.parsePlatform(argv.platform) } : {}),
    });
    const g = result.graph;
    const out =
      argv.format === "json" ? `${JSON.stringify(api.graphToJson(g), null, 2)}\n`
      : argv.format === "dot" ? api.graphToDot(g)
      : argv.format === "mermaid" ? api.graphToMermaid(g)
      : api.graphToText(g);
    process.stdout.write(out);
  },
};
