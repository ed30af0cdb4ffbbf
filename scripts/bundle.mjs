// Bundles the CLI and the public API with esbuild: one ESM file per entry plus lazily loaded chunks,
// so `tsbuild` starts without resolving hundreds of modules.
import { build } from "esbuild";

await build({
  entryPoints: { cli: "src/cli/main.ts", index: "src/index.ts" },
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: true,
  chunkNames: "chunks/[name]-[hash]",
  logLevel: "warning",
});
