/**
 * Leases: `leases/<id>.json` files naming digests and snapshot keys that GC must keep until the lease expires or
 * is deleted. Producers take one before writing content that nothing references yet (a pull in progress, a build).
 * Lease files are renamed into place but not fsynced: a lease only protects content from GC while its holder
 * lives, a crash ends the holder too, and an unreadable lease file is ignored (saves two fsyncs, up to ~0.1 s on
 * a busy disk, at the start of every pull and build).
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { isDigest, type Digest } from "../util/digest.js";
import { StoreError } from "./errors.js";
import { writeFileAtomic } from "./fs-util.js";
import { withLock } from "./lock.js";
import type { RootLayout } from "./root.js";

/** A lease record. `expiresAt` is epoch milliseconds. */
export interface Lease {
  readonly id: string;
  readonly expiresAt: number;
  readonly digests: readonly Digest[];
  readonly snapshots: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

/** Options of `createLease`. */
export interface CreateLeaseOptions {
  /** @default random 16 hex chars */
  readonly id?: string;
  /** Time to live. @default 3600000 (1 h) */
  readonly ttlMs?: number;
  readonly digests?: readonly Digest[];
  readonly snapshots?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

function leasePath(layout: RootLayout, id: string): string {
  if (!ID_RE.test(id)) throw new StoreError("TSB_STORE_INVALID", `invalid lease id ${JSON.stringify(id)}`, { hint: "use letters, digits, '-' and '_'" });
  return join(layout.leases, `${id}.json`);
}

/** Create (or replace) a lease. */
export async function createLease(layout: RootLayout, opts: CreateLeaseOptions = {}): Promise<Lease> {
  const lease: Lease = {
    id: opts.id ?? randomBytes(8).toString("hex"),
    expiresAt: Date.now() + (opts.ttlMs ?? 3_600_000),
    digests: [...(opts.digests ?? [])],
    snapshots: [...(opts.snapshots ?? [])],
    ...(opts.labels ? { labels: opts.labels } : {}),
  };
  await writeFileAtomic(leasePath(layout, lease.id), JSON.stringify(lease), 0o644, { durable: false });
  return lease;
}

/** Add digests / snapshot keys to a lease (and optionally extend it). Safe against concurrent adders. */
export async function addToLease(
  layout: RootLayout,
  id: string,
  add: { readonly digests?: readonly Digest[]; readonly snapshots?: readonly string[]; readonly ttlMs?: number },
): Promise<Lease> {
  return withLock(layout, `lease-${id}`, async () => {
    const cur = await getLease(layout, id);
    if (!cur) throw new StoreError("TSB_STORE_NOT_FOUND", `lease ${id} does not exist (expired or deleted)`, { hint: "create a new lease" });
    const next: Lease = {
      ...cur,
      expiresAt: add.ttlMs !== undefined ? Date.now() + add.ttlMs : cur.expiresAt,
      digests: [...new Set([...cur.digests, ...(add.digests ?? [])])],
      snapshots: [...new Set([...cur.snapshots, ...(add.snapshots ?? [])])],
    };
    await writeFileAtomic(leasePath(layout, id), JSON.stringify(next), 0o644, { durable: false });
    return next;
  });
}

/** Read one lease, or undefined. */
export async function getLease(layout: RootLayout, id: string): Promise<Lease | undefined> {
  try {
    return parseLease(await readFile(leasePath(layout, id), "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function parseLease(text: string): Lease | undefined {
  try {
    const l = JSON.parse(text) as Lease;
    if (typeof l.id !== "string" || typeof l.expiresAt !== "number" || !Array.isArray(l.digests)) return undefined;
    return { ...l, digests: l.digests.filter((d) => isDigest(d)), snapshots: Array.isArray(l.snapshots) ? l.snapshots : [] };
  } catch {
    return undefined;
  }
}

export async function deleteLease(layout: RootLayout, id: string): Promise<void> {
  await rm(leasePath(layout, id), { force: true });
}

/** Every readable lease, expired ones included. */
export async function listLeases(layout: RootLayout): Promise<Lease[]> {
  const names = await readdir(layout.leases).catch(() => [] as string[]);
  const out: Lease[] = [];
  for (const n of names) {
    if (!n.endsWith(".json")) continue;
    const text = await readFile(join(layout.leases, n), "utf8").catch(() => undefined);
    const l = text === undefined ? undefined : parseLease(text);
    if (l) out.push(l);
  }
  return out;
}

/** Run `fn` under a fresh lease that is deleted afterwards (even on error). */
export async function withLease<T>(layout: RootLayout, opts: CreateLeaseOptions, fn: (lease: Lease) => Promise<T>): Promise<T> {
  const lease = await createLease(layout, opts);
  try {
    return await fn(lease);
  } finally {
    await deleteLease(layout, lease.id);
  }
}
