/**
 * fsck: the doctor routine. Re-hashes every blob, lists partial ingest files (and whether their owner is alive),
 * and finds references (from providers and leases, expanded by `children`) to blobs that are missing.
 */
import { readdir } from "node:fs/promises";
import type { Digest } from "../util/digest.js";
import { tempOwner, isOwnerAlive } from "./fs-util.js";
import { collectRoots, type PruneOptions } from "./gc.js";
import type { ContentStore, VerifyResult } from "./types.js";

/** Findings of `fsck`. `ok` is true when nothing is corrupt or dangling. */
export interface FsckReport {
  readonly ok: boolean;
  readonly checked: number;
  readonly corrupt: readonly VerifyResult[];
  /** Files in `ingest/`: `live` ones belong to a running process, the rest are leftovers of a crash. */
  readonly partial: readonly { readonly name: string; readonly live: boolean }[];
  /** Digests referenced (directly or through `children`) that are not in the store. */
  readonly dangling: readonly Digest[];
}

/** Verify the whole store. Read-only (expired leases are left alone). */
export async function fsck(store: ContentStore, opts: Pick<PruneOptions, "providers" | "children"> = {}): Promise<FsckReport> {
  const corrupt: VerifyResult[] = [];
  let checked = 0;
  for await (const b of store.list()) {
    checked++;
    const r = await store.verify(b.digest);
    if (!r.ok) corrupt.push(r);
  }
  const partial = (await readdir(store.layout.ingest).catch(() => [] as string[])).map((name) => {
    const o = tempOwner(name);
    return { name, live: o ? isOwnerAlive(o.pid, o.host) : false };
  });
  const { reachable } = await collectRoots(store, { ...opts, dryRun: true });
  const dangling: Digest[] = [];
  for (const d of reachable) if (!(await store.has(d))) dangling.push(d);
  return { ok: corrupt.length === 0 && dangling.length === 0, checked, corrupt, partial, dangling };
}
