/** Scratch tsbuild roots with a content store, a snapshotter and a RefManager, for the cache room's sandbox tests. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RefManager } from "../../src/cache/index.js";
import { createSnapshotter, type Snapshotter } from "../../src/snapshot/index.js";
import { openContentStore, rootLayout, type ContentStore } from "../../src/store/index.js";

export interface CacheRoot {
  readonly dir: string;
  readonly store: ContentStore;
  readonly snap: Snapshotter;
  readonly refs: RefManager;
}

/** Roots opened by a test file; `closeAll()` in afterAll closes their snapshotters and removes them. */
export class CacheRoots {
  readonly #roots: CacheRoot[] = [];

  async open(prefix = "tsb-cache-"): Promise<CacheRoot> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    const layout = rootLayout(dir);
    const store = await openContentStore(dir);
    const snap = await createSnapshotter(layout.snapshots);
    const root = { dir, store, snap, refs: new RefManager({ snapshotter: snap, store, layout }) };
    this.#roots.push(root);
    return root;
  }

  async closeAll(): Promise<void> {
    for (const r of this.#roots.splice(0)) {
      await r.snap.close();
      await rm(r.dir, { recursive: true, force: true });
    }
  }
}
