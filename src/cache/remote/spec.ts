/**
 * `--cache-to` / `--cache-from` specs, with buildx's syntax (`type=registry,ref=REG/REPO:TAG,mode=max`):
 * registry (an OCI image manifest in a repository), local (an OCI layout directory) and inline (in the image config).
 */
import { UsageError } from "../../errors.js";
import type { Compression } from "../../snapshot/index.js";

/** Where a cache is imported from. */
export type CacheImportSpec =
  | { readonly type: "registry"; readonly ref: string }
  | { readonly type: "local"; readonly src: string; readonly tag: string };

/** Where a cache is exported to. */
export type CacheExportSpec =
  | ({ readonly type: "registry"; readonly ref: string } & CacheExportOptions)
  | ({ readonly type: "local"; readonly dest: string; readonly tag: string } & CacheExportOptions)
  | { readonly type: "inline" };

/** Options shared by registry and local cache exports. */
export interface CacheExportOptions {
  /** `min`: the steps of the final image only; `max`: every step of every stage. @default "min" */
  readonly mode: "min" | "max";
  /** Compression of layers exported for the cache (layers already exported are reused as they are). @default "gzip" */
  readonly compression: Compression;
  /** `compression-level`: gzip 1–9, zstd 1–19 (the compressor's default when absent). */
  readonly level?: number | undefined;
  /** `force-compression=true`: re-compress layers already exported with another compression. @default false */
  readonly force: boolean;
  /** OCI media types (always true: the cache is an OCI artifact; accepted for buildx compatibility). */
  readonly ociMediaTypes: boolean;
  /** Also export `RUN --mount=type=cache` directories (tsbuild extension). @default false */
  readonly cacheMounts: boolean;
  /** Failures of this export are warnings, not errors (buildx `ignore-error`). @default false */
  readonly ignoreError: boolean;
}

const EXAMPLE_TO = "e.g. --cache-to type=registry,ref=registry.example.com/team/app:buildcache,mode=max";
const EXAMPLE_FROM = "e.g. --cache-from type=registry,ref=registry.example.com/team/app:buildcache";

function fields(flag: string, spec: string, example: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of spec.split(",")) {
    const f = part.trim();
    if (f === "") continue;
    const eq = f.indexOf("=");
    // buildx: a bare value is a registry ref (`--cache-from user/app:cache`).
    const [k, v] = eq < 0 ? ["ref", f] : [f.slice(0, eq).trim().toLowerCase(), f.slice(eq + 1).trim()];
    if (out.has(k)) throw usage(flag, spec, `${k} is given twice`, example);
    out.set(k, v);
  }
  if (!out.has("type")) out.set("type", out.has("ref") ? "registry" : out.has("src") || out.has("dest") ? "local" : "");
  return out;
}

function usage(flag: string, spec: string, what: string, hint: string): UsageError {
  return new UsageError(`${flag} ${JSON.stringify(spec)}: ${what}`, { hint });
}

function allow(flag: string, spec: string, f: Map<string, string>, keys: readonly string[], example: string): void {
  for (const k of f.keys()) {
    if (k !== "type" && !keys.includes(k)) throw usage(flag, spec, `type=${f.get("type")} has no option ${JSON.stringify(k)}`, `options: ${keys.join(", ")} (${example})`);
  }
}

function bool(flag: string, spec: string, f: Map<string, string>, k: string, dflt: boolean): boolean {
  const v = f.get(k);
  if (v === undefined) return dflt;
  if (v === "" || v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw usage(flag, spec, `${k}=${JSON.stringify(v)} is not a boolean`, `use ${k}=true or ${k}=false`);
}

function required(flag: string, spec: string, f: Map<string, string>, k: string, example: string): string {
  const v = f.get(k);
  if (v === undefined || v === "") throw usage(flag, spec, `${k} is required`, example);
  return v;
}

/** Parse one `--cache-from` value. */
export function parseCacheImportSpec(spec: string): CacheImportSpec {
  const flag = "--cache-from";
  const f = fields(flag, spec, EXAMPLE_FROM);
  const type = f.get("type");
  switch (type) {
    case "registry":
      allow(flag, spec, f, ["ref"], EXAMPLE_FROM);
      return { type, ref: required(flag, spec, f, "ref", EXAMPLE_FROM) };
    case "local":
      allow(flag, spec, f, ["src", "tag", "digest"], EXAMPLE_FROM);
      return { type, src: required(flag, spec, f, "src", "add src=DIR (a directory written by --cache-to type=local,dest=DIR)"), tag: f.get("tag") || "latest" };
    default:
      throw usage(flag, spec, type ? `unknown type ${JSON.stringify(type)}` : "type is missing", `use type=registry,ref=… or type=local,src=DIR (${EXAMPLE_FROM}); an inline cache is read with type=registry,ref=IMAGE`);
  }
}

/** Parse one `--cache-to` value. */
export function parseCacheExportSpec(spec: string): CacheExportSpec {
  const flag = "--cache-to";
  const f = fields(flag, spec, EXAMPLE_TO);
  const type = f.get("type");
  const common = ["mode", "compression", "compression-level", "force-compression", "oci-mediatypes", "image-manifest", "cache-mounts", "ignore-error"];
  const options = (): CacheExportOptions => {
    const mode = f.get("mode") ?? "min";
    if (mode !== "min" && mode !== "max") throw usage(flag, spec, `mode=${JSON.stringify(mode)} is not min or max`, "use mode=min (final image's steps) or mode=max (every stage's steps)");
    const compression = f.get("compression") ?? "gzip";
    if (compression !== "gzip" && compression !== "zstd" && compression !== "uncompressed") {
      throw usage(flag, spec, `compression=${JSON.stringify(compression)} is not supported`, "use compression=gzip, zstd or uncompressed");
    }
    let level: number | undefined;
    const lv = f.get("compression-level");
    if (lv !== undefined) {
      const [min, max] = compression === "zstd" ? [1, 19] : [1, 9];
      level = Number(lv);
      if (compression === "uncompressed") throw usage(flag, spec, "compression-level does not apply to compression=uncompressed", "drop compression-level, or use compression=gzip or zstd");
      if (!/^\d+$/.test(lv) || level < min || level > max) throw usage(flag, spec, `compression-level=${JSON.stringify(lv)} is out of range`, `use an integer from ${min} to ${max} for ${compression}`);
    }
    const oci = bool(flag, spec, f, "oci-mediatypes", true);
    if (!oci) throw usage(flag, spec, "oci-mediatypes=false is not supported", "the cache is always an OCI artifact; drop oci-mediatypes=false");
    return {
      mode,
      compression: compression === "uncompressed" ? "none" : compression,
      ...(level !== undefined ? { level } : {}),
      force: bool(flag, spec, f, "force-compression", false),
      ociMediaTypes: true,
      cacheMounts: bool(flag, spec, f, "cache-mounts", false),
      ignoreError: bool(flag, spec, f, "ignore-error", false),
    };
  };
  switch (type) {
    case "registry":
      allow(flag, spec, f, ["ref", ...common], EXAMPLE_TO);
      return { type, ref: required(flag, spec, f, "ref", EXAMPLE_TO), ...options() };
    case "local":
      allow(flag, spec, f, ["dest", "tag", ...common], EXAMPLE_TO);
      return { type, dest: required(flag, spec, f, "dest", "add dest=DIR"), tag: f.get("tag") || "latest", ...options() };
    case "inline":
      allow(flag, spec, f, ["mode"], EXAMPLE_TO);
      if ((f.get("mode") ?? "min") !== "min") throw usage(flag, spec, "an inline cache is always mode=min", "use type=registry,ref=…,mode=max for every stage's steps");
      return { type };
    default:
      throw usage(flag, spec, type ? `unknown type ${JSON.stringify(type)}` : "type is missing", `use type=registry, type=local or type=inline (${EXAMPLE_TO})`);
  }
}
