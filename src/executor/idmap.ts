import { readFileSync } from "node:fs";

/** One line of a uid_map/gid_map: `size` ids starting at `containerId` map to ids starting at `hostId`. */
export interface IdMapEntry {
  readonly containerId: number;
  readonly hostId: number;
  readonly size: number;
}

/** A uid or gid map, container (session) ids → host ids, in the format of /proc/PID/uid_map. */
export type IdMap = readonly IdMapEntry[];

/** The identity map of the initial user namespace (real root). */
export const IDENTITY_MAP: IdMap = Object.freeze([Object.freeze({ containerId: 0, hostId: 0, size: 4294967295 })]);

/** Parse the text of /proc/PID/uid_map or gid_map. */
export function parseIdMap(text: string): IdMap {
  const out: IdMapEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3) continue;
    const [c, h, n] = f.map(Number) as [number, number, number];
    if ([c, h, n].every(Number.isInteger)) out.push(Object.freeze({ containerId: c, hostId: h, size: n }));
  }
  return Object.freeze(out);
}

/** The host id of a container (session) id, or undefined when the id is not mapped. */
export function toHostId(map: IdMap, containerId: number): number | undefined {
  for (const e of map) if (containerId >= e.containerId && containerId - e.containerId < e.size) return e.hostId + containerId - e.containerId;
  return undefined;
}

/** The container (session) id of a host id, or undefined when the host id is not mapped. */
export function toContainerId(map: IdMap, hostId: number): number | undefined {
  for (const e of map) if (hostId >= e.hostId && hostId - e.hostId < e.size) return e.containerId + hostId - e.hostId;
  return undefined;
}

/** Whether a map is the initial namespace's identity map. */
export function isIdentityMap(map: IdMap): boolean {
  return map.length === 1 && map[0]!.containerId === 0 && map[0]!.hostId === 0 && map[0]!.size === 4294967295;
}

/** A subordinate id range from /etc/subuid or /etc/subgid. */
export interface SubIdRange {
  readonly start: number;
  readonly count: number;
}

/** The ranges of /etc/subuid-style `text` that belong to the user `name` (or its numeric `id`). */
export function parseSubIds(text: string, name: string | undefined, id: number): SubIdRange[] {
  const out: SubIdRange[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(":");
    if (f.length !== 3 || line.trim().startsWith("#")) continue;
    if (f[0] !== name && f[0] !== String(id)) continue;
    const start = Number(f[1]);
    const count = Number(f[2]);
    if (Number.isInteger(start) && Number.isInteger(count) && count > 0) out.push({ start, count });
  }
  return out;
}

/** Read the ranges of a user from /etc/subuid or /etc/subgid; none when the file is missing. */
export function readSubIds(file: string, name: string | undefined, id: number): SubIdRange[] {
  try {
    return parseSubIds(readFileSync(file, "utf8"), name, id);
  } catch {
    return [];
  }
}

/**
 * The session map for a user: container 0 → the user's own id, then 1..65535 (or as many as the ranges hold)
 * → the subordinate ranges in file order. A single-entry map when there are no ranges.
 */
export function sessionMap(ownId: number, ranges: readonly SubIdRange[], want = 65535): IdMap {
  const out: IdMapEntry[] = [{ containerId: 0, hostId: ownId, size: 1 }];
  let next = 1;
  for (const r of ranges) {
    if (next > want) break;
    const size = Math.min(r.count, want - next + 1);
    out.push({ containerId: next, hostId: r.start, size });
    next += size;
  }
  return Object.freeze(out.map((e) => Object.freeze(e)));
}

/** A map as the words newuidmap/newgidmap take: "inside outside count ...". */
export function mapToArgs(map: IdMap): string {
  return map.map((e) => `${e.containerId} ${e.hostId} ${e.size}`).join(" ");
}
