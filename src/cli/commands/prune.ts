import type { CommandModule } from "yargs";

/** Parse sizes like 512MB, 10GB, 1.5g, 1024 (bytes). */
export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$/i.exec(s);
  if (!m) return NaN;
  const unit = (m[2] ?? "").toLowerCase().replace(/b$/, "");
  const pow = { "": 0, k: 1, m: 2, g: 3, t: 4, ki: 1, mi: 2, gi: 3, ti: 4 }[unit];
  if (pow === undefined) return NaN;
  return Math.round(Number(m[1]) * (unit.endsWith("i") ? 1024 : 1000) ** pow);
}

export const command: CommandModule<object, any> = {
  command: "prune",
  describe: "Remove content not used by any image, live lease or build-cache record",
  builder: (y) =>
    y
      .option("all", { alias: "a", type: "boolean", default: false, describe: "Also drop the build cache and recently written unreferenced content" })
      .option("keep-storage", { type: "string", describe: "Keep up to this much data (e.g. 10GB)" })
      .option("force", { alias: "f", type: "boolean", default: false, describe: "Do not prompt for confirmation" }),
  handler: async (argv) => {
    const { openLocal, formatSize } = await import("./images.js");
    const { images, api } = await openLocal(argv);
    let keep: number | undefined;
    if (argv["keep-storage"] !== undefined) {
      keep = parseSize(argv["keep-storage"]);
      if (!Number.isFinite(keep)) throw new api.UsageError(`invalid --keep-storage ${JSON.stringify(argv["keep-storage"])}`, { hint: "use a size like 512MB or 10GB" });
    }
    const report = await api.prune(images.store, { all: argv.all, keepStorage: keep, providers: [images.rootProvider()] });
    for (const b of report.removed) process.stdout.write(`Deleted: ${b.digest}\n`);
    process.stdout.write(`Total reclaimed space: ${formatSize(report.reclaimedBytes)}\n`);
  },
};
