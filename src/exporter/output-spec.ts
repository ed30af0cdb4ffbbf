/**
 * Parsing `-o`/`--output` specs with buildx's syntax: CSV fields `key=value` (a field may be double-quoted to hold
 * commas), `type=` required, shorthand `-o DIR` (local) and `-o -` (tar to stdout). A bare field right after
 * `name=…` is one more name (`name=a,b`), as users write it. Every mistake is a UsageError naming the field.
 */
import { UsageError } from "../errors.js";
import type { Compression } from "../snapshot/index.js";
import { suggest } from "../util/suggest.js";

/** Options shared by the outputs that write an image (oci, docker, image/registry). */
export interface ImageOutputOptions {
  /** Layer compression; without `compression=` see {@link defaultCompression}. */
  readonly compression: Compression;
  readonly level?: number | undefined;
  /** `force-compression=true`: re-compress layers stored with another compression. */
  readonly force: boolean;
  /** `oci-mediatypes`; undefined means the default (OCI). */
  readonly ociMediaTypes?: boolean | undefined;
  /** `rewrite-timestamp=true`: clamp file mtimes in built layers to SOURCE_DATE_EPOCH. */
  readonly rewriteTimestamp: boolean;
  /** `annotation.K=V` and `annotation-manifest.K=V`: manifest annotations. */
  readonly manifestAnnotations: Readonly<Record<string, string>>;
  /** `annotation-manifest-descriptor.K=V`: annotations of the manifest's descriptor (index.json, metadata). */
  readonly descriptorAnnotations: Readonly<Record<string, string>>;
}

/** One parsed output. `dest: "-"` means standard output. */
export type OutputSpec =
  /** The final filesystem copied into a directory. */
  | { readonly type: "local"; readonly dest: string }
  /** The final filesystem as one tar stream. */
  | { readonly type: "tar"; readonly dest: string }
  /** An OCI image layout (tar, or a directory with `tar=false`). */
  | { readonly type: "oci"; readonly dest: string; readonly tar: boolean; readonly names: readonly string[]; readonly image: ImageOutputOptions }
  /**
   * A docker-archive (`docker load`), or an OCI layout directory with `tar=false`. Without `dest` the image is
   * stored in the local image db (`--load`).
   */
  | { readonly type: "docker"; readonly dest?: string | undefined; readonly tar: boolean; readonly names: readonly string[]; readonly image: ImageOutputOptions }
  /** The local image db under each name; `push=true` also pushes each name (`type=registry`). */
  | { readonly type: "image"; readonly names: readonly string[]; readonly push: boolean; readonly store: boolean; readonly image: ImageOutputOptions };

const IMAGE_KEYS = ["name", "compression", "compression-level", "force-compression", "oci-mediatypes", "rewrite-timestamp", "buildinfo", "oci-artifact"];
const KEYS: Readonly<Record<OutputSpec["type"] | "registry", readonly string[]>> = {
  local: ["dest", "platform-split"],
  tar: ["dest", "platform-split"],
  oci: ["dest", "tar", ...IMAGE_KEYS],
  docker: ["dest", "tar", ...IMAGE_KEYS],
  image: ["push", "store", "unpack", "insecure", "registry.insecure", "push-by-digest", "name-canonical", "dangling-name-prefix", ...IMAGE_KEYS],
  registry: ["push", "store", "unpack", "insecure", "registry.insecure", "push-by-digest", "name-canonical", "dangling-name-prefix", ...IMAGE_KEYS],
};
const TYPES = Object.keys(KEYS);
const EXAMPLE = "e.g. -o type=oci,dest=image.tar, -o type=local,dest=out/ or -o out/";

function usage(spec: string, problem: string, hint = `give -o as comma-separated key=value fields, ${EXAMPLE}`): UsageError {
  return new UsageError(`invalid output ${JSON.stringify(spec)}: ${problem}`, { hint });
}

/** Split CSV fields: commas separate, double quotes group (a doubled quote inside quotes is a literal quote). */
export function splitCsv(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      if (quoted && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else {
        quoted = !quoted;
      }
    } else if (c === "," && !quoted) {
      out.push(cur);
      cur = "";
    } else {
      cur += c;
    }
  }
  if (quoted) throw new UsageError(`invalid output ${JSON.stringify(text)}: unterminated double quote`, { hint: "close the quote around the field" });
  out.push(cur);
  return out;
}

/** Go's strconv.ParseBool. */
function parseBool(spec: string, key: string, value: string): boolean {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(value)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(value)) return false;
  throw usage(spec, `${key}=${JSON.stringify(value)} is not a boolean`, `use ${key}=true or ${key}=false`);
}

const ANNOTATION_RE = /^annotation(?:-([a-z-]+))?(?:\[([A-Za-z0-9_/-]+)\])?\.(\S+)$/;

/**
 * The layer compression an image output gets when the user names none: outputs that only store the image locally
 * keep built layers uncompressed (as Docker's and Buildah's stores do); they are compressed once, when the image
 * leaves the machine (push, archive). Giving `compression-level` or `force-compression` asks for the usual gzip.
 */
export function defaultCompression(storedOnly: boolean): Compression {
  return storedOnly ? "none" : "gzip";
}

function parseImageOptions(spec: string, attrs: ReadonlyMap<string, string>, annotations: readonly [string, string][], storedOnly: boolean): ImageOutputOptions {
  const implicit = !attrs.has("compression-level") && !attrs.has("force-compression") ? defaultCompression(storedOnly) : "gzip";
  const c = attrs.get("compression") ?? (implicit === "none" ? "uncompressed" : implicit);
  const compressions: Readonly<Record<string, Compression>> = { gzip: "gzip", zstd: "zstd", uncompressed: "none" };
  const compression = compressions[c];
  if (!compression) throw usage(spec, `compression=${JSON.stringify(c)} is not supported`, "use compression=gzip, compression=zstd or compression=uncompressed");
  let level: number | undefined;
  const lv = attrs.get("compression-level");
  if (lv !== undefined) {
    const [min, max] = compression === "zstd" ? [1, 19] : [1, 9];
    level = /^-?\d+$/.test(lv) ? Number(lv) : NaN;
    if (!Number.isInteger(level) || (compression !== "none" && (level < min || level > max))) {
      throw usage(spec, `compression-level=${JSON.stringify(lv)} is out of range`, `use an integer from ${min} to ${max} for ${c}`);
    }
  }
  const bool = (k: string): boolean | undefined => (attrs.has(k) ? parseBool(spec, k, attrs.get(k)!) : undefined);
  const ociMediaTypes = bool("oci-mediatypes");
  if (ociMediaTypes === false && compression === "zstd") {
    throw usage(spec, 'compression=zstd conflicts with oci-mediatypes=false', "drop oci-mediatypes=false, or use compression=gzip");
  }
  const manifestAnnotations: Record<string, string> = {};
  const descriptorAnnotations: Record<string, string> = {};
  for (const [k, v] of annotations) {
    const m = ANNOTATION_RE.exec(k);
    if (!m) throw usage(spec, `annotation key ${JSON.stringify(k)} is malformed`, "use annotation.KEY=VALUE or annotation-manifest.KEY=VALUE");
    const kind = m[1] ?? "manifest";
    if (kind === "manifest") manifestAnnotations[m[3]!] = v;
    else if (kind === "manifest-descriptor") descriptorAnnotations[m[3]!] = v;
    else if (kind === "index" || kind === "index-descriptor") {
      throw usage(spec, `${k}: a single-platform build writes no image index`, "use annotation.KEY=VALUE (manifest) or annotation-manifest-descriptor.KEY=VALUE");
    } else throw usage(spec, `annotation type ${JSON.stringify(kind)} is not known`, "use annotation, annotation-manifest or annotation-manifest-descriptor");
  }
  return { compression, level, force: bool("force-compression") ?? false, ociMediaTypes, rewriteTimestamp: bool("rewrite-timestamp") ?? false, manifestAnnotations, descriptorAnnotations };
}

/** Parse one `-o` value. */
export function parseOutputSpec(spec: string): OutputSpec {
  if (spec.trim() === "") throw usage(spec, "it is empty");
  if (!spec.includes("=")) {
    if (spec.includes(",")) throw usage(spec, "fields must be key=value");
    return spec === "-" ? { type: "tar", dest: "-" } : { type: "local", dest: spec };
  }
  const attrs = new Map<string, string>();
  const names: string[] = [];
  const annotations: [string, string][] = [];
  let last: string | undefined;
  for (const field of splitCsv(spec)) {
    const eq = field.indexOf("=");
    if (eq < 0) {
      if (last === "name" && field.trim() !== "") {
        names.push(field.trim());
        continue;
      }
      throw usage(spec, `field ${JSON.stringify(field)} is not key=value`);
    }
    const key = field.slice(0, eq).trim().toLowerCase();
    const value = field.slice(eq + 1);
    last = key;
    if (key.startsWith("annotation")) {
      annotations.push([field.slice(0, eq).trim(), value]);
      continue;
    }
    if (key === "name") {
      names.push(...value.split(",").map((n) => n.trim()).filter(Boolean));
      attrs.set(key, value);
      continue;
    }
    if (attrs.has(key)) throw usage(spec, `${key} is given twice`);
    attrs.set(key, value);
  }
  const type = attrs.get("type");
  if (type === undefined) throw usage(spec, "type is missing", `add type=local, type=tar, type=oci, type=docker, type=image or type=registry (${EXAMPLE})`);
  const allowed = KEYS[type as keyof typeof KEYS];
  if (!allowed) {
    const s = suggest(type, TYPES);
    throw usage(spec, `unknown type ${JSON.stringify(type)}${s ? ` (did you mean ${s}?)` : ""}`, `use one of ${TYPES.join(", ")}`);
  }
  for (const k of attrs.keys()) {
    if (k === "type" || allowed.includes(k)) continue;
    const s = suggest(k, allowed);
    throw usage(spec, `type=${type} has no option ${JSON.stringify(k)}${s ? ` (did you mean ${s}?)` : ""}`, `options of type=${type}: ${allowed.join(", ")}`);
  }
  if ((type === "local" || type === "tar") && annotations.length > 0) throw usage(spec, `type=${type} writes no image, so annotations do not apply`);
  const dest = attrs.get("dest");
  if (dest === "") throw usage(spec, "dest is empty");
  const bool = (k: string, dflt: boolean): boolean => (attrs.has(k) ? parseBool(spec, k, attrs.get(k)!) : dflt);
  switch (type) {
    case "local":
    case "tar":
      if (dest === undefined) throw usage(spec, "dest is required", type === "local" ? "add dest=DIR" : "add dest=FILE (or dest=- for standard output)");
      if (type === "local" && dest === "-") throw usage(spec, "type=local cannot write to standard output", "use type=tar,dest=- for a tar stream");
      return { type, dest };
    case "oci":
    case "docker": {
      const tar = bool("tar", true);
      if (type === "oci" && dest === undefined) throw usage(spec, "dest is required", "add dest=FILE (or dest=- for standard output), or dest=DIR,tar=false");
      if (!tar && dest === "-") throw usage(spec, "tar=false writes a directory, not standard output", "give dest=DIR");
      const image = parseImageOptions(spec, attrs, annotations, type === "docker" && dest === undefined);
      if (type === "docker" && tar && dest !== undefined && image.compression === "zstd") {
        throw usage(spec, "a docker archive cannot hold zstd layers", "use type=oci, or compression=gzip");
      }
      return type === "oci" ? { type, dest: dest!, tar, names, image } : { type, dest, tar, names, image };
    }
    default: {
      const push = type === "registry" || bool("push", false);
      const image = parseImageOptions(spec, attrs, annotations, !push);
      return { type: "image", names, push, store: bool("store", true), image };
    }
  }
}

/** Parse every `-o` value; at most one may write to standard output. */
export function parseOutputSpecs(specs: readonly string[]): OutputSpec[] {
  const out = specs.map(parseOutputSpec);
  if (out.filter((o) => "dest" in o && o.dest === "-").length > 1) {
    throw new UsageError("more than one output writes to standard output", { hint: "give at most one -o with dest=-" });
  }
  return out;
}
