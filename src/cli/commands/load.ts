import type { CommandModule } from "yargs";

export const command: CommandModule<object, any> = {
  command: ["load", "image load"],
  describe: "Load images from a docker-archive or OCI layout tar (optionally gzip-compressed)",
  builder: (y) => y.option("input", { alias: "i", type: "string", describe: "Read from FILE instead of stdin" }).option("quiet", { alias: "q", type: "boolean", default: false }),
  handler: async (argv) => {
    const { openLocal } = await import("./images.js");
    const { images, api } = await openLocal(argv);
    const { createReadStream } = await import("node:fs");
    const file = argv.input as string | undefined;
    if (!file && process.stdin.isTTY) throw new api.UsageError("no archive given", { hint: "use -i FILE or pipe an archive to stdin" });
    const src = file ? createReadStream(file) : process.stdin;
    if (file) {
      await new Promise<void>((res, rej) => {
        src.once("open", () => res());
        src.once("error", (e: Error) => rej(new api.UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { hint: "check the path given to -i" })));
      });
    }
    const loaded = await api.loadArchive(images, src);
    const { parseReference } = await import("../../image/index.js");
    for (const l of loaded) {
      if (argv.quiet) continue;
      if (l.names.length === 0) process.stdout.write(`Loaded image ID: ${l.target.digest} (unnamed: tag it with 'tsbuild tag' or it will be pruned)\n`);
      for (const n of l.names) process.stdout.write(`Loaded image: ${parseReference(n).familiar}\n`);
    }
  },
};
