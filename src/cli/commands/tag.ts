import type { CommandModule } from "yargs";

export const command: CommandModule<object, any> = {
  command: "tag <source> <target>",
  describe: "Create a tag TARGET that refers to the local image SOURCE",
  builder: (y) => y.positional("source", { type: "string", demandOption: true }).positional("target", { type: "string", demandOption: true }),
  handler: async (argv) => {
    const { openLocal } = await import("./images.js");
    const { images } = await openLocal(argv);
    await images.tagImage(argv.source, argv.target);
  },
};
