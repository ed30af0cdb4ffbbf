/**
 * `RUN --mount=...` values, parsed exactly as BuildKit's instructions/commands_runmount.go: a CSV record of
 * `key=value` fields (and the bare switches `ro`, `rw`, `required`), expanded field by field at dispatch time.
 */
import { suggest } from "../util/suggest.js";
import { InstructionError, didYouMean } from "./instructions-errors.js";

export type MountType = "bind" | "cache" | "tmpfs" | "secret" | "ssh";
export type MountSharing = "shared" | "private" | "locked";

const MOUNT_TYPES: readonly MountType[] = ["bind", "cache", "tmpfs", "secret", "ssh"];
const SHARING_MODES: readonly MountSharing[] = ["shared", "private", "locked"];
const ALL_KEYS = ["type", "from", "source", "target", "readonly", "id", "sharing", "required", "size", "mode", "uid", "gid", "src", "dst", "destination", "ro", "rw", "readwrite", "env"];

/** One parsed RUN mount (BuildKit `instructions.Mount`). */
export interface Mount {
  readonly type: MountType;
  /** Stage name or image for bind/cache mounts. */
  readonly from?: string;
  readonly source?: string;
  readonly target?: string;
  /** Defaults: false for cache and tmpfs, true otherwise, unless `ro`/`rw` was given. */
  readonly readOnly: boolean;
  /** tmpfs `size` in bytes. */
  readonly sizeLimit?: number;
  /** Cache id, or secret/ssh id. */
  readonly id?: string;
  readonly sharing?: MountSharing;
  /** Secret/ssh: fail when the secret or agent socket is not provided. */
  readonly required: boolean;
  /** Secret: expose the secret as this environment variable. */
  readonly env?: string;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
}

const mountError = (msg: string, hint?: string): InstructionError =>
  new InstructionError("TSB_INSTR_MOUNT", `RUN --mount: ${msg}`, hint === undefined ? {} : { hint });

/** Split one CSV record as Go's encoding/csv does (`"` quotes a field, `""` is a literal quote). */
export function splitCsvFields(s: string): string[] {
  if (s === "") return [];
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw mountError(`failed to parse csv mounts: extraneous or missing " in quoted-field`);
        const ch = s[i]!;
        if (ch === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += ch;
        i++;
      }
      if (i < s.length && s[i] !== ",") throw mountError(`failed to parse csv mounts: extraneous or missing " in quoted-field`);
    } else {
      const end = s.indexOf(",", i);
      field = end < 0 ? s.slice(i) : s.slice(i, end);
      if (field.includes('"')) throw mountError(`failed to parse csv mounts: bare " in non-quoted-field`);
      i = end < 0 ? s.length : end;
    }
    fields.push(field);
    if (i >= s.length) return fields;
    i++; // the comma
    if (i >= s.length) {
      fields.push("");
      return fields;
    }
  }
}

/** Go strconv.ParseBool. */
function parseBool(key: string, value: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  throw mountError(`invalid value for ${key}: ${value}`, `${key} takes true or false`);
}

/** Go strconv.ParseUint(value, base, 32). */
function parseUint32(value: string, base: 8 | 10, what: string): number {
  const re = base === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  const n = re.test(value) ? Number.parseInt(value, base) : NaN;
  if (!Number.isSafeInteger(n) || n > 0xffffffff) {
    throw mountError(`invalid value ${value} for ${what}`, base === 8 ? `${what} is an octal number, e.g. 0644` : `${what} is a decimal number`);
  }
  return n;
}

/** docker/go-units RAMInBytes: `64m`, `1.5GiB`, `512 k`, plain bytes; binary multipliers. */
function ramInBytes(value: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kmgtp])?i?b?$/i.exec(value);
  const n = m ? Number(m[1]) : NaN;
  if (!m || !Number.isFinite(n)) throw mountError(`invalid value for size: ${value}`, "size takes bytes or a unit: 64m, 1g, 512k");
  const exp = m[2] ? "kmgtp".indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.trunc(n * 1024 ** exp);
}

/**
 * Parse one raw `--mount` value. `expand` is applied to every `key=value` value first (BuildKit expands them
 * with the stage env at dispatch); pass it from the frontend. Without `expand` values are used as written.
 * @throws InstructionError `TSB_INSTR_MOUNT`, or whatever `expand` throws
 */
export function parseMount(raw: string, expand: (word: string) => string = (w) => w): Mount {
  let type: MountType = "bind";
  let readOnly = false;
  let roAuto = true;
  let required = false;
  let from: string | undefined, source: string | undefined, target: string | undefined, id: string | undefined, env: string | undefined;
  let sharing: MountSharing | undefined, sizeLimit: number | undefined, mode: number | undefined, uid: number | undefined, gid: number | undefined;
  for (const field of splitCsvFields(raw)) {
    const eq = field.indexOf("=");
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === "readonly" || key === "ro") [readOnly, roAuto] = [true, false];
      else if (key === "readwrite" || key === "rw") [readOnly, roAuto] = [false, false];
      else if (key === "required" && (type === "secret" || type === "ssh")) required = true;
      else if (key === "required") throw mountError(`unexpected key '${key}' for mount type '${type}'`, "required applies to secret and ssh mounts only");
      else throw mountError(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const value = expand(field.slice(eq + 1));
    switch (key) {
      case "type": {
        const v = value.toLowerCase() as MountType;
        if (!MOUNT_TYPES.includes(v)) throw mountError(didYouMean(`unsupported mount type "${value}"`, suggest(value, MOUNT_TYPES)), `mount types: ${MOUNT_TYPES.join(", ")}`);
        type = v;
        break;
      }
      case "from":
        from = value;
        break;
      case "source":
      case "src":
        source = value;
        break;
      case "target":
      case "dst":
      case "destination":
        target = value;
        break;
      case "readonly":
      case "ro":
        readOnly = parseBool(key, value);
        roAuto = false;
        break;
      case "readwrite":
      case "rw":
        readOnly = !parseBool(key, value);
        roAuto = false;
        break;
      case "required":
        if (type !== "secret" && type !== "ssh") throw mountError(`unexpected key '${key}' for mount type '${type}'`, "required applies to secret and ssh mounts only (put type= first)");
        required = parseBool(key, value);
        break;
      case "size":
        if (type !== "tmpfs") throw mountError(`unexpected key '${key}' for mount type '${type}'`, "size applies to tmpfs mounts only (put type= first)");
        sizeLimit = ramInBytes(value);
        break;
      case "id":
        id = value;
        break;
      case "sharing": {
        const v = value.toLowerCase() as MountSharing;
        if (!SHARING_MODES.includes(v)) throw mountError(didYouMean(`unsupported sharing value "${value}"`, suggest(value, SHARING_MODES)), `sharing modes: ${SHARING_MODES.join(", ")}`);
        sharing = v;
        break;
      }
      case "mode":
        mode = parseUint32(value, 8, "mode");
        break;
      case "uid":
        uid = parseUint32(value, 10, "uid");
        break;
      case "gid":
        gid = parseUint32(value, 10, "gid");
        break;
      case "env":
        env = value;
        break;
      default:
        throw mountError(didYouMean(`unexpected key '${key}' in '${field}'`, suggest(key, ALL_KEYS)), `mount keys: ${ALL_KEYS.join(", ")}`);
    }
  }
  if (type !== "secret" && type !== "ssh" && type !== "cache") {
    for (const [k, v] of [["mode", mode], ["uid", uid], ["gid", gid]] as const) {
      if (v !== undefined) throw mountError(`${k} not allowed for "${type}" type mounts`, `${k} applies to cache, secret and ssh mounts`);
    }
  }
  if (roAuto) readOnly = type !== "cache" && type !== "tmpfs";
  if (type === "secret") {
    if (from !== undefined && from !== "") throw mountError("secret mount should not have a from");
    if (sharing !== undefined) throw mountError("secret mount should not define sharing");
    if (!source && !target && !id) throw mountError("invalid secret mount. one of source, target required", "give the secret an id=NAME (or target=/path)");
    if (source && id) throw mountError("both source and id can't be set", "use id=NAME only");
  }
  if (sharing !== undefined && type !== "cache") throw mountError(`invalid cache sharing set for ${type} mount`, "sharing applies to cache mounts only");
  return {
    type, readOnly, required,
    ...(from ? { from } : {}), ...(source ? { source } : {}), ...(target ? { target } : {}), ...(id ? { id } : {}),
    ...(env !== undefined ? { env } : {}), ...(sharing ? { sharing } : {}), ...(sizeLimit !== undefined ? { sizeLimit } : {}),
    ...(mode !== undefined ? { mode } : {}), ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}),
  };
}

/**
 * Parse-time checks of a raw mount (BuildKit validates only `from` before expansion): `from` may not use
 * variables; when the value has no `$` at all it is fully validated now, so typos fail before any build step.
 */
export function checkMountRaw(raw: string): void {
  for (const field of splitCsvFields(raw)) {
    const eq = field.indexOf("=");
    if (eq < 0 || field.slice(0, eq).toLowerCase() !== "from") continue;
    const value = field.slice(eq + 1);
    const idx = value.indexOf("$");
    if (idx !== -1 && idx !== value.length - 1) {
      throw mountError("'from' doesn't support variable expansion, define alias stage instead", "add `FROM <image-with-$ARG> AS alias` and use from=alias");
    }
  }
  if (!raw.includes("$")) parseMount(raw);
}
