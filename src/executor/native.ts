import { buildNative, findNativeDir, NativeBuildError } from "../util/native-build.js";
import { ExecutorError } from "./errors.js";

let cached: string | undefined;

/** The helper's sources: every C file and header of native/ except the stand-alone tools. */
const STANDALONE = new Set(["deflate.c", "fsd.c"]);

/** The `native/` directory of this checkout or package (searched upwards from this module, src or dist). */
export function nativeDir(): string {
  const dir = findNativeDir();
  if (dir) return dir;
  throw new ExecutorError("TSB_EXECUTOR_NATIVE", "cannot find tsbuild's native/ sources next to the installed code", {
    hint: "reinstall tsbuild, or set TSBUILD_HELPER to a built tsbuild-helper binary",
  });
}

/**
 * The path of the built `tsbuild-helper`, compiled with the machine's `cc` on first use and cached by the hash of
 * its sources (in native/build/, or in a per-user temp dir when that is not writable). `TSBUILD_HELPER` overrides.
 */
export function helperPath(): string {
  if (cached) return cached;
  const env = process.env.TSBUILD_HELPER;
  if (env) return (cached = env);
  const dir = nativeDir();
  try {
    return (cached = buildNative({ name: "tsbuild-helper", dir, sources: (f) => !STANDALONE.has(f) }));
  } catch (e) {
    if (!(e instanceof NativeBuildError)) throw e;
    if (e.kind === "unwritable") {
      throw new ExecutorError("TSB_EXECUTOR_NATIVE", `cannot write the native helper to ${e.dirs.join(" or ")}`, {
        hint: "run `npm run build` once as the owner of the checkout, or set TSBUILD_HELPER",
      });
    }
    throw new ExecutorError("TSB_EXECUTOR_NATIVE", `cannot compile tsbuild's native helper with ${e.compiler}: ${e.detail}`, {
      hint: "install a C compiler (Debian: apt-get install gcc libc6-dev)",
    });
  }
}
