import type { CommandModule } from "yargs";

export const command: CommandModule<object, any> = {
  command: "du",
  describe: "Show disk usage of the tsbuild root by kind (images, blobs, snapshots, build cache, cache mounts)",
  builder: (y) =>
    y
      .option("verbose", { alias: "v", type: "boolean", default: false, describe: "Also list every snapshot with its size and what uses it" })
      .option("json", { type: "boolean", default: false, describe: "Print the usage as JSON" })
      .option("fsck", { type: "boolean", default: false, describe: "Also verify every blob's digest and report problems" }),
  handler: async (argv) => {
    const { openGc } = await import("./prune.js");
    const o = await openGc(argv);
    if (!o) return;
    try {
      const { api, images, gc, formatSize, table } = o;
      const providers = [images.rootProvider(), gc.rootProvider()];
      const [usage, cache, named] = await Promise.all([api.diskUsage(images.store, { providers }), gc.usage(), images.listImages()]);
      const row = (kind: string) => usage.rows.find((r) => r.kind === kind);
      const committed = cache.snapshots.filter((s) => s.kind === "committed");
      const sum = (xs: readonly { readonly bytes: number }[]): number => xs.reduce((n, x) => n + x.bytes, 0);
      const kinds = [
        { kind: "images", count: named.length, bytes: row("images")?.bytes ?? 0, reclaimable: 0 },
        { kind: "blobs", count: row("blobs")?.count ?? 0, bytes: row("blobs")?.bytes ?? 0, reclaimable: usage.reclaimableBytes },
        { kind: "snapshots", count: committed.length, bytes: sum(committed), reclaimable: sum(committed.filter((s) => s.usedBy === undefined)) },
        { kind: "build cache records", count: cache.records.count, bytes: cache.records.bytes, reclaimable: cache.records.reclaimable },
        { kind: "cache mounts", count: cache.cacheMounts.count, bytes: cache.cacheMounts.bytes, reclaimable: cache.cacheMounts.inUse ? 0 : cache.cacheMounts.bytes },
        { kind: "ingest", count: undefined, bytes: row("ingest")?.bytes ?? 0, reclaimable: 0 },
      ];
      if (argv.json) {
        process.stdout.write(JSON.stringify({ root: images.store.layout.root, kinds, snapshots: cache.snapshots }, null, 2) + "\n");
      } else {
        const rows = [["KIND", "COUNT", "SIZE", "RECLAIMABLE"]];
        for (const k of kinds) rows.push([k.kind, k.count === undefined ? "-" : String(k.count), formatSize(k.bytes), formatSize(k.reclaimable)]);
        process.stdout.write(table(rows));
        if (argv.verbose) {
          const snaps = [["SNAPSHOT", "PARENT", "SIZE", "USED BY"]];
          for (const s of cache.snapshots) snaps.push([s.key, s.parent ?? "-", formatSize(s.bytes), s.usedBy ?? (s.kind === "committed" ? "-" : s.kind)]);
          process.stdout.write(`\n${table(snaps)}`);
        }
        const total = kinds.filter((k) => k.kind !== "build cache records").reduce((n, k) => n + k.reclaimable, 0);
        process.stdout.write(`Reclaimable: ${formatSize(total)}\nRoot: ${images.store.layout.root}\n`);
      }
      if (argv.fsck) {
        const f = await api.fsck(images.store, { providers: [images.rootProvider()] });
        for (const c of f.corrupt) process.stdout.write(`corrupt: ${c.digest} (content hashes to ${c.actual})\n`);
        for (const d of f.dangling) process.stdout.write(`missing: ${d}\n`);
        for (const p of f.partial) process.stdout.write(`partial: ingest/${p.name}${p.live ? " (in use)" : ""}\n`);
        process.stdout.write(`fsck: ${f.checked} blobs checked, ${f.ok ? "no problems" : "problems found"}\n`);
        if (!f.ok) process.exitCode = 1;
      }
    } finally {
      await o.snapshotter.close();
    }
  },
};
