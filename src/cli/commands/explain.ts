import type { CommandModule } from "yargs";

interface ExplainArgs {
  readonly context: string;
  readonly file?: string;
  readonly root?: string;
}

/** `tsbuild explain`: why the steps of the last build of a Dockerfile missed the cache, compared with the build before it. */
export const command: CommandModule<object, any> = {
  command: "explain [context]",
  describe: "Explain why steps of the last build missed the cache (compared with the build before it)",
  builder: (y) =>
    y
      .positional("context", { type: "string", default: ".", describe: "Build context directory of the builds" })
      .option("file", { alias: "f", type: "string", describe: "Dockerfile of the builds (default: CONTEXT/Dockerfile)" }),
  handler: async (args) => {
    const argv = args as unknown as ExplainArgs;
    const [{ explainLastBuild }, { formatMisses }, { TsbuildError }] = await Promise.all([
      import("../../build-records.js"),
      import("../../solver/index.js"),
      import("../../errors.js"),
    ]);
    const r = await explainLastBuild({ contextDir: argv.context, ...(argv.file !== undefined ? { dockerfile: argv.file } : {}), ...(argv.root ? { root: argv.root } : {}) });
    if (!r.record) {
      throw new TsbuildError("TSB_EXPLAIN_NO_RECORD", `no build of ${argv.file ?? "Dockerfile"} in context ${argv.context} is recorded in this tsbuild root`, {
        hint: "run tsbuild build first (with the same context, -f and --root), then tsbuild explain",
      });
    }
    process.stdout.write(formatMisses(r.misses, r.record));
  },
};
