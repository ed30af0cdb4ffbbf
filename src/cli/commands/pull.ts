import type { CommandModule } from "yargs";

/** Plain-HTTP registries from `--insecure-registry` and TSBUILD_INSECURE_REGISTRIES (comma or space separated). */
export function insecureRegistries(argv: { readonly [k: string]: unknown }): string[] {
  const flag = argv["insecure-registry"];
  const fromFlag = Array.isArray(flag) ? flag.map(String) : typeof flag === "string" ? [flag] : [];
  const fromEnv = (process.env.TSBUILD_INSECURE_REGISTRIES ?? "").split(/[\s,]+/).filter(Boolean);
  return [...fromFlag, ...fromEnv];
}

/** The `--insecure-registry` option shared by pull, push and login. */
export const insecureOption = {
  type: "string",
  // Repeatable, one host per use: an array option would swallow the positionals that follow it.
  requiresArg: true,
  describe: "Talk plain HTTP to this registry host (also env TSBUILD_INSECURE_REGISTRIES); localhost is always allowed",
} as const;

export const command: CommandModule<object, any> = {
  command: ["pull <name>", "image pull <name>"],
  describe: "Download an image from a registry",
  builder: (y) =>
    y
      .positional("name", { type: "string", demandOption: true, describe: "NAME[:TAG|@DIGEST]" })
      .option("platform", { type: "string", describe: "Platform to pull from a multi-platform image (default: this host's), e.g. linux/arm64" })
      .option("insecure-registry", insecureOption)
      .option("quiet", { alias: "q", type: "boolean", default: false, describe: "Only print the image name" }),
  handler: async (argv) => {
    const [store, image, reg] = await Promise.all([import("../../store/index.js"), import("../../image/index.js"), import("../../registry/index.js")]);
    const api = { ...store, ...image };
    const ref = api.parseReference(argv.name as string);
    const platform = typeof argv.platform === "string" ? reg.parsePlatform(argv.platform) : undefined;
    const root = api.resolveRoot({ root: typeof argv.root === "string" ? argv.root : undefined });
    const images = await api.openImageStore(root);
    const quiet = argv.quiet === true;
    const say = (s: string): void => void (quiet || process.stderr.write(`${s}\n`));
    // Local names cannot carry a digest: a pull by digest is recorded under its tag if it has one.
    const localName = ref.digest === undefined ? ref.full : ref.tag !== undefined ? `${ref.name}:${ref.tag}` : undefined;
    const registry = reg.openRegistry({ root, insecureRegistries: insecureRegistries(argv) });
    try {
      say(`${ref.tag ?? ref.digest}: Pulling from ${ref.familiarName}`);
      const res = await registry.pull(ref, images.store, {
        ...(platform ? { platform } : {}),
        images: { record: async (_name, d) => void (localName !== undefined && (await images.putImage(localName, d))) },
        onProgress: (e) => {
          if (e.kind === "blob-done") say(`${e.digest.slice(7, 19)}: ${e.how === "cached" ? "Already exists" : "Pull complete"}`);
        },
      });
      say(`Digest: ${res.target.digest}`);
      say(res.bytesDownloaded > 0 ? `Status: Downloaded newer image for ${ref.familiar}` : `Status: Image is up to date for ${ref.familiar}`);
      process.stdout.write(`${ref.full}\n`);
    } finally {
      await registry.close();
    }
  },
};
