import type { CommandModule } from "yargs";

export const command: CommandModule<object, any> = {
  command: "du",
  describe: "Show disk usage of the tsbuild root by kind",
  builder: (y) => y.option("fsck", { type: "boolean", default: false, describe: "Also verify every blob's digest and report problems" }),
  handler: async (argv) => {
    const { openLocal, formatSize, table } = await import("./images.js");
    const { images, api } = await openLocal(argv);
    const providers = [images.rootProvider()];
    const usage = await api.diskUsage(images.store, { providers });
    const rows = [["KIND", "COUNT", "SIZE"]];
    for (const r of usage.rows) rows.push([r.kind, r.count === undefined ? "-" : String(r.count), formatSize(r.bytes)]);
    process.stdout.write(table(rows));
    process.stdout.write(`Reclaimable: ${formatSize(usage.reclaimableBytes)}\nRoot: ${images.store.layout.root}\n`);
    if (argv.fsck) {
      const f = await api.fsck(images.store, { providers });
      for (const c of f.corrupt) process.stdout.write(`corrupt: ${c.digest} (content hashes to ${c.actual})\n`);
      for (const d of f.dangling) process.stdout.write(`missing: ${d}\n`);
      for (const p of f.partial) process.stdout.write(`partial: ingest/${p.name}${p.live ? " (in use)" : ""}\n`);
      process.stdout.write(`fsck: ${f.checked} blobs checked, ${f.ok ? "no problems" : "problems found"}\n`);
      if (!f.ok) process.exitCode = 1;
    }
  },
};
