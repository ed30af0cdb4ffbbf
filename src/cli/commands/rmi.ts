import type { CommandModule } from "yargs";

export const command: CommandModule<object, any> = {
  command: ["rmi <images..>", "image rm <images..>"],
  describe: "Remove local image names (content is freed by 'tsbuild prune')",
  builder: (y) => y.positional("images", { type: "string", array: true, demandOption: true }),
  handler: async (argv) => {
    const { openLocal } = await import("./images.js");
    const { images, api } = await openLocal(argv);
    const { parseReference } = await import("../../image/index.js");
    let failed: unknown;
    for (const name of argv.images as string[]) {
      try {
        for (const r of await images.deleteImage(name)) process.stdout.write(`Untagged: ${parseReference(r.name).familiar}\n`);
      } catch (err) {
        if (!(err instanceof api.TsbuildError) || failed !== undefined) throw err;
        failed = err;
      }
    }
    if (failed) throw failed;
  },
};
