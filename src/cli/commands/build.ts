import type { CommandModule } from "yargs";

// Placeholder wiring; filled in by the build command work.
export const command: CommandModule<object, any> = {
  command: ["build [context]", "$0 [context]"],
  describe: "Build an image from a Dockerfile",
  builder: (y) =>
    y
      .positional("context", { type: "string", default: ".", describe: "Build context directory" })
      .option("file", { alias: "f", type: "string", describe: "Name of the Dockerfile (default: CONTEXT/Dockerfile)" })
      .option("check", { type: "boolean", default: false, describe: "Run build checks and exit without building" }),
  handler: async () => {
    const { UsageError } = await import("../../errors.js");
    throw new UsageError("build is not implemented yet");
  },
};
