/**
 * --chown / WORKDIR owners: `user[:group]` resolved to container ids. Names are looked up in the destination
 * rootfs's /etc/passwd and /etc/group (read through the rooted resolver, so an image symlink cannot make us read
 * a host file); numbers are taken as they are, with the gid defaulting to the uid (BuildKit readUser). As Docker
 * 20.10's BuildKit: a user name that is not found is 0:0 and a group name that is not found keeps the user's gid
 * (no error), and an empty group (`app:`) is gid 0 (its ChownOpt marshals an empty name as id 0).
 */
import { open } from "node:fs/promises";
import type { Chown } from "../graph/index.js";
import { toHostId, type IdMap } from "../executor/index.js";
import { FileOpError, SUBID_HINT } from "./file-errors.js";
import { resolveInRoot } from "./file-root-path.js";

/** Resolved owner in container ids. */
export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/** BuildKit's maxUserFileBytes. */
const MAX_USER_FILE = 10 << 20;

/** Resolve an owner against the rootfs at `root`; `undefined` when there is none to apply. */
export async function resolveOwner(root: string, chown: Chown | undefined): Promise<Owner | undefined> {
  if (chown === undefined) return undefined;
  let user = chown.user;
  let group = chown.group;
  if (group === undefined && user.includes(":")) [user, group] = [user.slice(0, user.indexOf(":")), user.slice(user.indexOf(":") + 1)];
  let uid = 0;
  let gid = 0;
  if (user !== "") {
    const n = parseId(user);
    if (n !== undefined) [uid, gid] = [n, n];
    else {
      const entry = (await readDb(root, "/etc/passwd")).find((f) => f[0] === user);
      if (entry !== undefined) [uid, gid] = [Number(entry[2]), Number(entry[3])];
    }
  }
  if (group === "") gid = 0;
  else if (group !== undefined) {
    const n = parseId(group);
    if (n !== undefined) gid = n;
    else {
      const entry = (await readDb(root, "/etc/group")).find((f) => f[0] === group);
      if (entry !== undefined) gid = Number(entry[2]);
    }
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid < 0 || gid < 0) {
    throw new FileOpError("TSB_OPS_FILE_UNKNOWN_USER", `invalid owner ${JSON.stringify(chown.group === undefined ? chown.user : `${chown.user}:${chown.group}`)} (ids ${uid}:${gid})`, {
      hint: "fix the user's entry in /etc/passwd or use numeric ids",
    });
  }
  return { uid, gid };
}

/** BuildKit parseUID: "root" is 0; otherwise a base-10 int32. */
function parseId(s: string): number | undefined {
  if (s === "root") return 0;
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

/** The colon-separated lines of /etc/passwd or /etc/group in the rootfs; [] when the file is missing. */
async function readDb(root: string, file: string): Promise<string[][]> {
  const p = await resolveInRoot(root, file);
  let fh;
  try {
    fh = await open(p.path, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new FileOpError("TSB_OPS_FILE_UNKNOWN_USER", `${file} in the destination is not a regular file`, { hint: `fix ${file} in the image` });
    if (st.size > MAX_USER_FILE) throw new FileOpError("TSB_OPS_FILE_UNKNOWN_USER", `${file} in the destination exceeds ${MAX_USER_FILE} bytes`, { hint: `fix ${file} in the image` });
    const text = (await fh.readFile()).toString("utf8");
    return text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"))
      .map((l) => l.split(":"));
  } finally {
    await fh.close();
  }
}

/**
 * Check that the session can write files owned by `owner`: in a rootless session with a single mapped id, chown to
 * any other id fails with EINVAL deep inside a copy; fail early and say how to fix it.
 */
export function checkMapped(owner: Owner, uidMap: IdMap, gidMap: IdMap): void {
  for (const [kind, id, map] of [["uid", owner.uid, uidMap], ["gid", owner.gid, gidMap]] as const) {
    if (map.length > 0 && toHostId(map, id) === undefined) {
      throw new FileOpError("TSB_OPS_FILE_ID_UNMAPPED", `cannot set owner ${kind} ${id}: this build session maps only ${describeMap(map)}`, { hint: SUBID_HINT });
    }
  }
}

function describeMap(map: IdMap): string {
  return map.map((e) => (e.size === 1 ? `id ${e.containerId}` : `ids ${e.containerId}-${e.containerId + e.size - 1}`)).join(", ");
}
