import type { CommandModule } from "yargs";
import type { Digest } from "../../util/digest.js";

/** Parse sizes like 512MB, 10GB, 1.5g, 1024 (bytes). */
export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$/i.exec(s);
  if (!m) return NaN;
  const unit = (m[2] ?? "").toLowerCase().replace(/b$/, "");
  const pow = { "": 0, k: 1, m: 2, g: 3, t: 4, ki: 1, mi: 2, gi: 3, ti: 4 }[unit];
  if (pow === undefined) return NaN;
  return Math.round(Number(m[1]) * (unit.endsWith("i") ? 1024 : 1000) ** pow);
}

/** Parse Go-style durations (`24h`, `1h30m`, `90s`, `500ms`) into milliseconds; NaN when invalid. */
export function parseDuration(s: string): number {
  const unit: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * unit[m[2]!]!;
    end = re.lastIndex;
  }
  return s.length > 0 && end === s.length ? total : NaN;
}

/**
 * Open what `prune` and `du` work on, inside tsbuild's session (snapshot files belong to mapped ids): the image
 * store, the snapshotter and the build-cache GC. Returns undefined when the command ran in a re-executed child.
 */
export async function openGc(argv: { readonly [k: string]: unknown }) {
  const { ensureSession } = await import("../../executor/index.js");
  const outcome = await ensureSession(process.argv.slice(1));
  if (!outcome.inside) {
    process.exitCode = outcome.exitCode;
    return undefined;
  }
  const { openLocal, formatSize, table } = await import("./images.js");
  const [{ images, api }, cache, snapshot] = await Promise.all([openLocal(argv), import("../../cache/index.js"), import("../../snapshot/index.js")]);
  const layout = images.store.layout;
  const snapshotter = await snapshot.createSnapshotter(layout.snapshots);
  const imageDiffIds = async (): Promise<Digest[][]> => {
    const out: Digest[][] = [];
    for (const r of await images.listImages()) {
      const resolved = await api.resolveImage(images.store, r.target).catch(() => undefined);
      if (resolved) out.push([...(resolved.config.rootfs?.diff_ids ?? [])] as Digest[]);
    }
    return out;
  };
  const gc = new cache.CacheGc({ layout, store: images.store, snapshotter, imageDiffIds });
  return { api, cache, images, snapshotter, gc, formatSize, table };
}

const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

export const command: CommandModule<object, any> = {
  command: "prune",
  describe: "Remove build cache and content not used by any image, running build or kept cache record",
  builder: (y) =>
    y
      .option("all", { alias: "a", type: "boolean", default: false, describe: "Remove all build cache (records, snapshots, cache mounts) not used by an image or a running build" })
      .option("keep-storage", { type: "string", describe: "Remove least recently used build cache until it takes at most this much (e.g. 10GB)" })
      .option("filter", { type: "string", describe: "until=DURATION: remove build cache not used for this long (e.g. 24h)" })
      .option("cache-mounts", { type: "boolean", default: false, describe: "Also remove the RUN --mount=type=cache directories" })
      .option("force", { alias: "f", type: "boolean", default: false, describe: "Do not prompt for confirmation" }),
  handler: async (argv) => {
    const { UsageError } = await import("../../errors.js");
    let keep: number | undefined;
    if (argv["keep-storage"] !== undefined) {
      keep = parseSize(argv["keep-storage"]);
      if (!Number.isFinite(keep)) throw new UsageError(`invalid --keep-storage ${JSON.stringify(argv["keep-storage"])}`, { hint: "use a size like 512MB or 10GB" });
    }
    let unusedForMs: number | undefined;
    for (const f of list(argv.filter)) {
      const m = /^until=(.*)$/.exec(f);
      unusedForMs = m ? parseDuration(m[1]!) : NaN;
      if (!Number.isFinite(unusedForMs)) throw new UsageError(`invalid --filter ${JSON.stringify(f)}`, { hint: "use until=DURATION, e.g. until=24h" });
    }
    const o = await openGc(argv);
    if (!o) return;
    try {
      const { blobs, cache } = await o.cache.pruneBuildCache(o.images.store, {
        gc: o.gc,
        all: argv.all,
        keepStorage: keep,
        unusedForMs,
        cacheMounts: argv["cache-mounts"],
        providers: [o.images.rootProvider()],
      });
      const out = process.stdout;
      for (const s of cache.snapshots) out.write(`Deleted snapshot: ${s}\n`);
      for (const b of blobs.removed) out.write(`Deleted: ${b.digest}\n`);
      for (const m of cache.cacheMounts) out.write(`Deleted cache mount: ${m}\n`);
      out.write(`Deleted build cache records: ${cache.records.length}\n`);
      out.write(`Total reclaimed space: ${o.formatSize(blobs.reclaimedBytes + cache.reclaimedBytes)}\n`);
    } finally {
      await o.snapshotter.close();
    }
  },
};
