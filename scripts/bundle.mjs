// Bundles the CLI and the public API with esbuild: one ESM file per entry plus lazily loaded chunks, so `tsbuild`
// starts without resolving hundreds of modules. Each command's handler loads the rooms it needs as chunks.
//
// Start-up: yargs and its helpers are bundled in (resolving and compiling its ~40 modules took ~40 ms), and
// string-width gets a fast path for single-width text: its module body builds Unicode-property regexes and an Intl.Segmenter
// (~20 ms) that help text never needs. The real string-width is bundled behind that path and initialized on the
// first non-ASCII string, so widths are unchanged. Other dependencies stay external.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = resolve(import.meta.dirname, "..");
const pkg = JSON.parse(readFileSync(resolve(root, "package.json"), "utf8"));
const BUNDLED = new Set(["yargs"]);
const external = Object.keys(pkg.dependencies ?? {}).filter((d) => !BUNDLED.has(d));

/**
 * Characters that are one column wide and their own grapheme in every string-width version (printable ASCII,
 * Latin-1 letters, typographic punctuation such as "…" and "—"); checked against each bundled version below.
 */
const SINGLE_WIDTH = "\\x20-\\x7e\\u00c0-\\u00ff\\u2010-\\u2027";
const singleWidthChars = [...new Array(0x7f - 0x20).keys()].map((i) => 0x20 + i)
  .concat([...new Array(0x100 - 0xc0).keys()].map((i) => 0xc0 + i), [...new Array(0x2028 - 0x2010).keys()].map((i) => 0x2010 + i))
  .map((c) => String.fromCharCode(c));

/** Fails the build if a string-width version disagrees with the fast path. */
async function checkFastPath(path) {
  const real = (await import(pathToFileURL(path).href)).default;
  for (const c of singleWidthChars) {
    if (real(c) !== 1) throw new Error(`bundle: ${path} gives width ${real(c)} for U+${c.charCodeAt(0).toString(16)}; fix SINGLE_WIDTH`);
  }
  const sample = singleWidthChars.join("");
  if (real(sample) !== sample.length) throw new Error(`bundle: ${path} disagrees with the string-width fast path`);
}

/** string-width → `s.length` for single-width text without options, else the real module (required lazily). */
const lazyStringWidth = {
  name: "lazy-string-width",
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData?.real) return undefined;
      const real = await b.resolve(args.path, { resolveDir: args.resolveDir, importer: args.importer, kind: args.kind, pluginData: { real: true } });
      if (real.errors.length > 0) return { errors: real.errors };
      await checkFastPath(real.path);
      return { path: real.path, namespace: "lazy-string-width" };
    });
    b.onLoad({ filter: /.*/, namespace: "lazy-string-width" }, (args) => ({
      resolveDir: dirname(args.path),
      loader: "js",
      contents: `
const SINGLE_WIDTH = /^[${SINGLE_WIDTH}]*$/;
let real;
export default function stringWidth(text, options) {
  if (options === undefined && typeof text === "string" && SINGLE_WIDTH.test(text)) return text.length;
  // esbuild wraps a require()d ESM module in a lazy initializer: the module body runs on this first call.
  real ??= require(${JSON.stringify(args.path)}).default;
  return real(text, options);
}
`,
    }));
  },
};

/**
 * yargs's ESM shim finds its locale files and the package root (for the "yargs" key of package.json) from its own
 * `import.meta.url`; once bundled that is our chunk, so point it back at the installed yargs.
 */
const yargsShimPaths = {
  name: "yargs-shim-paths",
  setup(b) {
    b.onLoad({ filter: /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, (args) => {
      const src = readFileSync(args.path, "utf8");
      const from = "const __dirname = fileURLToPath(import.meta.url);";
      if (!src.includes(from)) throw new Error(`bundle: ${args.path} changed; review the yargs shim path patch`);
      const to = 'const __dirname = fileURLToPath(new URL("lib/platform-shims/esm.mjs", import.meta.resolve("yargs")));';
      return { contents: src.replace(from, to), loader: "js", resolveDir: dirname(args.path) };
    });
  },
};

/**
 * yargs renders the whole help text of a command after starting its handler, in case the handler fails later and
 * help is shown with the error (`cacheHelpMessage`); tsbuild's failures never print it (main.ts `.fail()` says
 * `Run 'tsbuild --help'`), and the rendering held up every command (~8 ms of CPU). `--help` renders it as before.
 */
const yargsNoHelpCache = {
  name: "yargs-no-help-cache",
  setup(b) {
    b.onLoad({ filter: /[\\/]yargs[\\/]build[\\/]lib[\\/]command\.js$/ }, (args) => {
      const src = readFileSync(args.path, "utf8");
      const from = "yargs.getInternalMethods().getUsageInstance().cacheHelpMessage();";
      if (src.split(from).length !== 2) throw new Error(`bundle: ${args.path} changed; review the yargs help-cache patch`);
      return { contents: src.replace(from, "/* help text rendered on demand only (scripts/bundle.mjs) */"), loader: "js", resolveDir: dirname(args.path) };
    });
  },
};

const result = await build({
  absWorkingDir: root,
  entryPoints: { cli: "src/cli/main.ts", index: "src/index.ts" },
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external,
  plugins: [lazyStringWidth, yargsShimPaths, yargsNoHelpCache],
  sourcemap: true,
  chunkNames: "chunks/[name]-[hash]",
  logLevel: "warning",
  write: false,
});

// Write atomically (tmp + rename), chunks before the entry points that import them, so a tsbuild process started
// from the previous bundle (a test running in parallel, a build in another terminal) never sees a half-written or
// missing file. Chunk names carry a content hash: stale chunks are removed only once they are an hour old.
const written = new Set();
const files = [...result.outputFiles].sort((a, b) => Number(!a.path.includes("/chunks/")) - Number(!b.path.includes("/chunks/")));
for (const f of files) {
  mkdirSync(dirname(f.path), { recursive: true });
  const tmp = `${f.path}.${process.pid}.tmp`;
  writeFileSync(tmp, f.contents);
  renameSync(tmp, f.path);
  written.add(f.path);
}
const chunksDir = resolve(root, "dist/chunks");
const hourAgo = Date.now() - 3600_000;
for (const name of existsSync(chunksDir) ? readdirSync(chunksDir) : []) {
  const path = resolve(chunksDir, name);
  if (!written.has(path) && statSync(path).mtimeMs < hourAgo) rmSync(path, { force: true });
}
