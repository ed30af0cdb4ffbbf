import type { CommandModule } from "yargs";

export const command: CommandModule<object, any> = {
  command: ["save <images..>", "image save <images..>"],
  describe: "Save images to a tar archive (docker-archive by default, or an OCI layout)",
  builder: (y) =>
    y
      .positional("images", { type: "string", array: true, demandOption: true })
      .option("output", { alias: "o", type: "string", describe: "Write to FILE instead of stdout" })
      .option("format", { choices: ["docker", "oci"] as const, default: "docker" as const, describe: "Archive format" }),
  handler: async (argv) => {
    const { openLocal } = await import("./images.js");
    const { images, api } = await openLocal(argv);
    const groups = new Map<string, { target: import("../../image/index.js").Descriptor; names: string[] }>();
    for (const n of argv.images as string[]) {
      const rec = await images.getImage(n);
      const g = groups.get(rec.target.digest) ?? { target: rec.target, names: [] };
      const byName = api.normalizeImageName(n) === rec.name;
      if (byName && !g.names.includes(rec.name)) g.names.push(rec.name);
      groups.set(rec.target.digest, g);
    }
    const list = [...groups.values()];
    const out = argv.output as string | undefined;
    if (!out && process.stdout.isTTY) throw new api.UsageError("refusing to write an archive to a terminal", { hint: "use -o FILE or redirect stdout" });
    const { createWriteStream } = await import("node:fs");
    const { rename, rm } = await import("node:fs/promises");
    const tmp = out ? `${out}.tsbuild-partial` : undefined;
    const { removeOnInterrupt } = await import("../interrupt.js");
    const kept = tmp ? removeOnInterrupt(tmp) : () => {};
    const dest = tmp ? createWriteStream(tmp) : process.stdout;
    try {
      if (argv.format === "oci") await api.writeOciArchive(images.store, list, dest);
      else await api.writeDockerArchive(images.store, list, dest);
      if (tmp && out) await rename(tmp, out);
      kept();
    } catch (err) {
      if (tmp) await rm(tmp, { force: true });
      kept();
      const { isBrokenPipe } = await import("../../util/broken-pipe.js");
      if (!tmp && isBrokenPipe(err)) {
        const { TsbuildError } = await import("../../errors.js");
        throw new TsbuildError("TSB_IMAGE_WRITE", "standard output was closed before the archive was written (EPIPE)", {
          cause: err,
          hint: "the program reading tsbuild's output exited early; let it read everything, or use -o FILE",
        });
      }
      throw err;
    }
  },
};
