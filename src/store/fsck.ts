/**
 * fsck: the doctor routine. Re-hashes every blob, lists partial ingest files (and whether their owner is alive),
 * and finds references (from providers, expanded by `children`) to blobs that are missing. Leases are not
 * references: they may protect content still to be written.
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
  /** Digests referenced by providers (directly or through `children`) that are not in the store. */
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
    return { name, live: o ? isOwnerAlive(o.pid, o.host, o.start) : false };
  });
  const { byKind } = await collectRoots(store, { ...opts, dryRun: true });
  // Leases may name content that is still to come (a pull takes its lease first, and may be killed before the
  // download ends): only what providers reference (images, cache records) must be present.
  const referenced = new Set<Digest>();
  for (const [kind, set] of byKind) if (kind !== "leases") for (const d of set) referenced.add(d);
  const dangling: Digest[] = [];
  for (const d of referenced) if (!(await store.has(d))) dangling.push(d);
  return { ok: corrupt.length === 0 && dangling.length === 0, checked, corrupt, partial, dangling };
}
