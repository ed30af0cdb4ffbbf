/**
 * Build leases: every build holds one lease (store `leases/<id>.json`) naming the snapshots and blobs it uses, so a
 * concurrent `tsbuild prune` never removes them. Additions happen under the root's `gc` lock, which `prune` holds
 * for its whole run: once `protect(ref)` returns, nothing of `ref` that still existed can be removed until the
 * lease is released. What the build creates itself is covered by time: a live build lease also keeps every
 * snapshot and blob made after it started. A lease names its owner process (pid, start time, host); GC drops the
 * leases of processes that are gone, so a killed build never pins content.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { createLease, deleteLease, listLeases, withLock, type Lease, type RootLayout } from "../store/index.js";
import type { Digest } from "../util/digest.js";
import { RefManager, type RefManagerOptions, type ExportLayerOptions } from "./refs.js";
import type { BuildRef, ExportedLayer } from "./types.js";

/** Label that marks a build lease; its value is the lease's start time (epoch ms). */
export const BUILD_LEASE_LABEL = "tsbuild.build.started";
const HOST = hostname();
/** Long: a build lease ends with its build or its process, never by time while the build runs. */
const BUILD_LEASE_TTL_MS = 7 * 24 * 3600_000;
/** A build waits this long for a running prune to finish before failing. */
const GC_LOCK_WAIT_MS = 3600_000;

/** Start time of a process (clock ticks since boot, field 22 of /proc/PID/stat), or undefined when it is gone. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/**
 * Whether the process that owns `lease` still runs. Leases without an owner (made by other producers) and leases
 * of other hosts count as alive: they end by expiry.
 */
export function isLeaseOwnerAlive(lease: Lease): boolean {
  const l = lease.labels ?? {};
  const pid = Number(l["owner.pid"]);
  if (!Number.isInteger(pid) || pid <= 0 || l["owner.host"] !== HOST) return true;
  const start = processStart(pid);
  return start !== undefined && (l["owner.start"] === undefined || l["owner.start"] === start);
}

/** Delete the leases of owner processes that are gone. Returns their ids. */
export async function reapDeadLeases(layout: RootLayout): Promise<string[]> {
  const dead: string[] = [];
  for (const lease of await listLeases(layout)) {
    if (isLeaseOwnerAlive(lease)) continue;
    await deleteLease(layout, lease.id);
    dead.push(lease.id);
  }
  return dead;
}

/** Live build leases (owner running, not expired) with their start times. */
export async function liveBuildLeases(layout: RootLayout): Promise<{ readonly lease: Lease; readonly started: number }[]> {
  const now = Date.now();
  const out: { lease: Lease; started: number }[] = [];
  for (const lease of await listLeases(layout)) {
    const started = Number(lease.labels?.[BUILD_LEASE_LABEL]);
    if (!Number.isFinite(started) || lease.expiresAt <= now || !isLeaseOwnerAlive(lease)) continue;
    out.push({ lease, started });
  }
  return out;
}

/** Minimal cache-record store shape the build's solver cache wraps (see `createOpCacheStore`). */
export interface RefRecordStore {
  load(key: Digest, signal?: AbortSignal): Promise<BuildRef | undefined>;
  save(key: Digest, ref: BuildRef, record: never): Promise<void>;
}

/** The lease one build holds from start to finish. Release it exactly once (in a `finally`). */
export class BuildLease {
  readonly #layout: RootLayout;
  readonly #lease: Lease;
  readonly #snapshots = new Set<string>();
  readonly #digests = new Set<Digest>();
  /** In-process queue: one gc-lock holder at a time per build. */
  #tail: Promise<unknown> = Promise.resolve();
  #released = false;

  private constructor(layout: RootLayout, lease: Lease) {
    this.#layout = layout;
    this.#lease = lease;
  }

  /** Create the lease of a build run by this process. Waits for a running prune to finish. */
  static async start(layout: RootLayout): Promise<BuildLease> {
    const started = Date.now();
    const labels = {
      [BUILD_LEASE_LABEL]: String(started),
      "owner.pid": String(process.pid),
      "owner.host": HOST,
      ...(processStart(process.pid) !== undefined ? { "owner.start": processStart(process.pid)! } : {}),
    };
    const lease = await withLock(layout, "gc", () => createLease(layout, { id: `build-${process.pid}-${started.toString(36)}`, ttlMs: BUILD_LEASE_TTL_MS, labels }), { timeoutMs: GC_LOCK_WAIT_MS });
    return new BuildLease(layout, lease);
  }

  /** The lease id (`leases/<id>.json`). */
  get id(): string {
    return this.#lease.id;
  }

  /**
   * Run `fn` while no prune can run (under the root's gc lock); what `fn` protects with `add` is safe once it
   * returns. Calls are serialized per lease.
   */
  hold<T>(fn: (add: (ref: BuildRef) => Promise<void>) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const run = this.#tail.then(() => withLock(this.#layout, "gc", () => fn((ref) => this.#add(ref)), { timeoutMs: GC_LOCK_WAIT_MS, signal }));
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Keep every snapshot and blob of `ref` until the build ends (a no-op for what is already protected). */
  async protect(ref: BuildRef, signal?: AbortSignal): Promise<void> {
    if (!this.#missing(ref)) return;
    await this.hold((add) => add(ref), signal);
  }

  /** A record store whose hits are protected atomically: a prune cannot remove a hit between lookup and use. */
  guard<S extends RefRecordStore>(records: S): Pick<S, "load" | "save"> {
    return {
      load: (key: Digest, signal?: AbortSignal) =>
        this.hold(async (add) => {
          const ref = await records.load(key, signal);
          if (ref) await add(ref);
          return ref;
        }, signal),
      save: (key, ref, record) => records.save(key, ref, record),
    } as Pick<S, "load" | "save">;
  }

  /** Delete the lease. Safe to call more than once. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#tail;
    await deleteLease(this.#layout, this.#lease.id);
  }

  #missing(ref: BuildRef): boolean {
    return ref.layers.some((l) => !this.#snapshots.has(l.snapshot) || (l.blob !== undefined && !this.#digests.has(l.blob.digest)));
  }

  /** Add `ref` to the lease file (caller holds the gc lock). */
  async #add(ref: BuildRef): Promise<void> {
    if (this.#released || !this.#missing(ref)) return;
    for (const l of ref.layers) {
      this.#snapshots.add(l.snapshot);
      if (l.blob) this.#digests.add(l.blob.digest);
    }
    const expiresAt = this.#lease.expiresAt - Date.now();
    await createLease(this.#layout, {
      id: this.#lease.id,
      ttlMs: Math.max(expiresAt, 60_000),
      digests: [...this.#digests],
      snapshots: [...this.#snapshots],
      ...(this.#lease.labels ? { labels: this.#lease.labels } : {}),
    });
  }
}

/**
 * A RefManager that adds every ref it mounts, unpacks or exports to a build lease first, so a concurrent prune
 * keeps them (the build's own new snapshots and blobs are kept by the lease's start time).
 */
export class LeasedRefManager extends RefManager {
  readonly #lease: BuildLease;

  constructor(opts: RefManagerOptions, lease: BuildLease) {
    super(opts);
    this.#lease = lease;
  }

  override async materialize(ref: BuildRef, signal?: AbortSignal): Promise<string | undefined> {
    await this.#lease.protect(ref, signal);
    return super.materialize(ref, signal);
  }

  override async ensureBlobs(ref: BuildRef, signal?: AbortSignal): Promise<void> {
    await this.#lease.protect(ref, signal);
    return super.ensureBlobs(ref, signal);
  }

  override async exportLayer(ref: BuildRef, index: number, opts: ExportLayerOptions = {}): Promise<ExportedLayer> {
    await this.#lease.protect(ref, opts.signal);
    return super.exportLayer(ref, index, opts);
  }
}
