import type { CommandModule } from "yargs";
import { insecureOption } from "./pull.js";

export const command: CommandModule<object, any> = {
  command: ["push <name> [destination]", "image push <name> [destination]"],
  describe: "Upload a local image to a registry (to DESTINATION if given, else to NAME)",
  builder: (y) =>
    y
      .positional("name", { type: "string", demandOption: true, describe: "Local image NAME[:TAG] or ID" })
      .positional("destination", { type: "string", describe: "Registry reference to push to, e.g. localhost:5000/app:v1" })
      .option("insecure-registry", insecureOption)
      .option("compression", {
        type: "string", choices: ["gzip", "zstd"], default: "gzip",
        describe: "Compress layers stored uncompressed (images built with -t) with this algorithm before pushing",
      })
      .option("quiet", { alias: "q", type: "boolean", default: false, describe: "Only print the pushed digest" }),
  handler: async (argv) => {
    const [store, image, reg, exporter] = await Promise.all([
      import("../../store/index.js"), import("../../image/index.js"), import("../../registry/index.js"), import("../../exporter/index.js"),
    ]);
    const api = { ...store, ...image };
    const { insecureRegistries } = await import("./pull.js");
    const root = api.resolveRoot({ root: typeof argv.root === "string" ? argv.root : undefined });
    const images = await api.openImageStore(root);
    const rec = await images.getImage(argv.name as string);
    const dest = api.parseReference((argv.destination as string | undefined) ?? (argv.name as string));
    const quiet = argv.quiet === true;
    const say = (s: string): void => void (quiet || process.stderr.write(`${s}\n`));
    const registry = reg.openRegistry({ root, insecureRegistries: insecureRegistries(argv) });
    try {
      say(`The push refers to repository [${dest.name}]`);
      // Layers stored uncompressed are compressed once (remembered in the store), as Docker does when it pushes.
      const { target } = await exporter.compressImage(images.store, rec.target, { compression: argv.compression as "gzip" | "zstd" });
      const res = await registry.push(images.store, target, dest, {
        onProgress: (e) => {
          if (e.kind === "blob-done") say(`${e.digest.slice(7, 19)}: ${e.how === "exists" ? "Layer already exists" : e.how === "mounted" ? `Mounted` : "Pushed"}`);
        },
      });
      say(`${dest.tag ?? dest.digest}: digest: ${res.digest} size: ${target.size}`);
      process.stdout.write(`${res.digest}\n`);
    } finally {
      await registry.close();
    }
  },
};
