import type { CommandModule } from "yargs";

export const command: CommandModule<object, any> = {
  command: ["import <file> <name>", "image import <file> <name>"],
  describe: "Import a rootfs tarball (tar or tar.gz, '-' for stdin) as a one-layer image",
  builder: (y) => y.positional("file", { type: "string", demandOption: true }).positional("name", { type: "string", demandOption: true }),
  handler: async (argv) => {
    const { openLocal } = await import("./images.js");
    const { images, api } = await openLocal(argv);
    api.normalizeImageName(argv.name);
    const { createReadStream } = await import("node:fs");
    const file = argv.file as string;
    const src = file === "-" ? process.stdin : createReadStream(file);
    const opened = new Promise<void>((res, rej) => {
      if (file === "-") return res();
      src.once("open", () => res());
      src.once("error", (e: Error) => rej(new api.UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { hint: "give the path of a rootfs tar archive, or '-' to read stdin" })));
    });
    await opened;
    const out = await api.importRootfs(images.store, src, { comment: file === "-" ? "imported from stdin" : `imported from ${file.split("/").pop()}` });
    await images.putImage(argv.name, out.manifest);
    process.stdout.write(`${out.imageId}\n`);
  },
};
