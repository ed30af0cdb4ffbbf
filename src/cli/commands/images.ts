import type { CommandModule } from "yargs";

/**
 * What the local image verbs use: errors, store and image rooms (never the whole public API, which would load
 * the registry client, snapshotter and frontend at start-up).
 */
async function localApi() {
  const [errors, store, image] = await Promise.all([import("../../errors.js"), import("../../store/index.js"), import("../../image/index.js")]);
  return { ...errors, ...store, ...image };
}

/** Open the local image store of the root chosen by --root / TSBUILD_ROOT (shared by the local image verbs). */
export async function openLocal(argv: { readonly [k: string]: unknown }) {
  const api = await localApi();
  const images = await api.openImageStore(api.resolveRoot({ root: typeof argv.root === "string" ? argv.root : undefined }));
  return { api, images };
}

/** Docker-style decimal sizes: 4.26MB. */
export function formatSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toPrecision(3).replace(/\.?0+$/, "")}${units[i]}`;
}

function ago(iso: string | undefined): string {
  if (!iso) return "N/A";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return "N/A";
  const steps: [number, string][] = [[31536000, "year"], [2592000, "month"], [604800, "week"], [86400, "day"], [3600, "hour"], [60, "minute"]];
  for (const [n, u] of steps) if (s >= n) return `${Math.floor(s / n)} ${u}${Math.floor(s / n) > 1 ? "s" : ""} ago`;
  return "Less than a minute ago";
}

export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join("").trimEnd()).join("\n") + "\n";
}

export const command: CommandModule<object, any> = {
  command: ["images", "image ls"],
  describe: "List local images",
  builder: (y) => y.option("quiet", { alias: "q", type: "boolean", default: false, describe: "Only show image IDs" }).option("no-trunc", { type: "boolean", default: false, describe: "Show full image IDs" }),
  handler: async (argv) => {
    const { images } = await openLocal(argv);
    const list = await images.listImages();
    const { parseReference } = await import("../../image/index.js");
    const id = (d: string): string => (argv["no-trunc"] ? d : d.slice(7, 19));
    if (argv.quiet) {
      process.stdout.write([...new Set(list.map((r) => id(r.imageId)))].map((s) => `${s}\n`).join(""));
      return;
    }
    const rows = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]];
    for (const r of list) {
      const ref = parseReference(r.name);
      rows.push([ref.familiarName, ref.tag ?? "<none>", id(r.imageId), ago(r.created), formatSize(r.size)]);
    }
    process.stdout.write(table(rows));
  },
};
