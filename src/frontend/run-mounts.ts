/**
 * `RUN --mount=…` values → mount specs (BuildKit instructions/commands_runmount.go + dockerfile2llb/
 * convert_runmount.go, convert_secrets.go, convert_ssh.go). Values are expanded with the stage env first.
 */
import { suggest } from "../util/suggest.js";
import { FrontendError } from "./errors.js";

export type MountKind = "bind" | "cache" | "tmpfs" | "secret" | "ssh";

export interface MountSpec {
  readonly type: MountKind;
  readonly from?: string;
  readonly source?: string;
  readonly target?: string;
  readonly readonly: boolean;
  readonly id?: string;
  readonly sharing?: "shared" | "private" | "locked";
  readonly required: boolean;
  readonly size?: number;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly env?: string;
}

const TYPES = ["bind", "cache", "tmpfs", "secret", "ssh"];
const SHARING = ["shared", "private", "locked"];
const KEYS = ["type", "from", "source", "target", "readonly", "id", "sharing", "required", "size", "mode", "uid", "gid", "src", "dst", "destination", "ro", "rw", "readwrite", "env"];

/** Split a CSV field list (`a=b,"c=d,e"`), honouring double quotes as Go's csv reader does. */
function csvFields(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"' && cur === "") quoted = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

const bad = (msg: string, hint = "see https://docs.docker.com/reference/dockerfile/#run---mount"): never => {
  throw new FrontendError("TSB_FRONTEND_BAD_MOUNT", msg, { hint });
};

function parseBool(key: string, v: string): boolean {
  if (/^(1|t|true)$/i.test(v)) return true;
  if (/^(0|f|false)$/i.test(v)) return false;
  return bad(`invalid value for ${key}: ${v}`);
}

function parseUint(key: string, v: string, radix: 8 | 10): number {
  const re = radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!re.test(v)) return bad(`invalid value ${v} for ${key}`);
  return Number.parseInt(v, radix);
}

function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(v.trim());
  if (!m) return bad(`invalid value for size: ${v}`);
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[m[2]!.toLowerCase() as ""]!;
  return Math.floor(Number(m[1]) * mult);
}

/** Parse one `--mount` value (already expanded). */
export function parseMountSpec(value: string): MountSpec {
  let type: MountKind = "bind";
  let roAuto = true;
  let ro = false;
  let required = false;
  const m: { -readonly [K in keyof MountSpec]?: MountSpec[K] } = {};
  for (const field of csvFields(value)) {
    const eq = field.indexOf("=");
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === "readonly" || key === "ro") [ro, roAuto] = [true, false];
      else if (key === "readwrite" || key === "rw") [ro, roAuto] = [false, false];
      else if (key === "required" && (type === "secret" || type === "ssh")) required = true;
      else if (key === "required") bad(`unexpected key '${key}' for mount type '${type}'`);
      else bad(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const v = field.slice(eq + 1);
    switch (key) {
      case "type": {
        const t = v.toLowerCase();
        if (!TYPES.includes(t)) {
          const s = suggest(t, TYPES);
          bad(`unsupported mount type ${JSON.stringify(v)}`, s ? `did you mean ${s}?` : `use one of ${TYPES.join(", ")}`);
        }
        type = t as MountKind;
        break;
      }
      case "from": m.from = v; break;
      case "source": case "src": m.source = v; break;
      case "target": case "dst": case "destination": m.target = v; break;
      case "readonly": case "ro": ro = parseBool(key, v); roAuto = false; break;
      case "readwrite": case "rw": ro = !parseBool(key, v); roAuto = false; break;
      case "required":
        if (type !== "secret" && type !== "ssh") bad(`unexpected key '${key}' for mount type '${type}'`);
        required = parseBool(key, v);
        break;
      case "size":
        if (type !== "tmpfs") bad(`unexpected key '${key}' for mount type '${type}'`);
        m.size = parseSize(v);
        break;
      case "id": m.id = v; break;
      case "sharing": {
        const s = v.toLowerCase();
        if (!SHARING.includes(s)) bad(`unsupported sharing value ${JSON.stringify(v)}`, `use one of ${SHARING.join(", ")}`);
        m.sharing = s as MountSpec["sharing"];
        break;
      }
      case "mode": m.mode = parseUint("mode", v, 8); break;
      case "uid": m.uid = parseUint("uid", v, 10); break;
      case "gid": m.gid = parseUint("gid", v, 10); break;
      case "env": m.env = v; break;
      default: {
        const s = suggest(key, KEYS);
        bad(`unexpected key '${key}' in '${field}'`, s ? `did you mean ${s}?` : `valid keys: ${KEYS.join(", ")}`);
      }
    }
  }
  if (type !== "secret" && type !== "ssh" && type !== "cache") {
    for (const k of ["mode", "uid", "gid"] as const) if (m[k] !== undefined) bad(`${k} not allowed for "${type}" type mounts`);
  }
  if (roAuto) ro = !(type === "cache" || type === "tmpfs");
  if (type === "secret") {
    if (m.from !== undefined) bad("secret mount should not have a from");
    if (m.sharing !== undefined) bad("secret mount should not define sharing");
    if (!m.source && !m.target && !m.id) bad("invalid secret mount. one of source, target required");
    if (m.source && m.id) bad("both source and id can't be set");
  }
  if (m.sharing !== undefined && type !== "cache") bad(`invalid cache sharing set for ${type} mount`);
  return { ...m, type, readonly: ro, required };
}

/** The `from=` of a raw mount value without expansion (for the stage dependency graph). */
export function mountFrom(raw: string): string | undefined {
  for (const field of csvFields(raw)) {
    const eq = field.indexOf("=");
    if (eq > 0 && field.slice(0, eq).toLowerCase() === "from") {
      const v = field.slice(eq + 1);
      const i = v.indexOf("$");
      if (i !== -1 && i !== v.length - 1) bad("'from' doesn't support variable expansion, define alias stage instead");
      return v;
    }
  }
  return undefined;
}
