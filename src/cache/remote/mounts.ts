/**
 * `RUN --mount=type=cache` directories in a shared cache (tsbuild extension, `cache-mounts=true`): each
 * `<cacheMountsDir>/<sha256(id)>/data` is exported as one gzip tar layer, and restored before a build into a root
 * that does not have that directory yet (a local directory always wins: it is at least as fresh).
 */
import { createGzip } from "node:zlib";
import { pipeline } from "node:stream/promises";
import { PassThrough } from "node:stream";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { writeTreeTar } from "../../exporter/index.js";
import { applyLayer } from "../../snapshot/index.js";
import { withLock, type ContentStore, type RootLayout } from "../../store/index.js";
import type { ProgressSink } from "../../progress/events.js";
import type { CacheMountEntry } from "./format.js";
import type { CacheImports } from "./imports.js";

const MOUNT_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip";

/** Export every cache mount directory of the root as a layer blob in the store. */
export async function exportCacheMounts(cacheMountsDir: string, store: ContentStore, signal?: AbortSignal): Promise<CacheMountEntry[]> {
  let ids: string[];
  try {
    ids = (await readdir(cacheMountsDir)).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort();
  } catch {
    return [];
  }
  const out: CacheMountEntry[] = [];
  for (const id of ids) {
    const dir = join(cacheMountsDir, id, "data");
    if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) continue;
    const writer = await store.writer();
    try {
      const tarStream = new PassThrough();
      await Promise.all([
        writeTreeTar(dir, tarStream, { signal }),
        pipeline(tarStream, createGzip(), writer.stream, signal ? { signal } : {}),
      ]);
      const info = await writer.commit();
      out.push({ id, blob: { digest: info.digest, size: info.size, mediaType: MOUNT_MEDIA_TYPE } });
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }
  return out;
}

/**
 * Restore the cache mounts listed by the imported caches into directories the root does not have yet. Failures
 * are warnings: a cache mount is an optimisation, the build works without it.
 */
export async function restoreCacheMounts(imports: CacheImports, cacheMountsDir: string, layout: RootLayout, store: ContentStore, progress: ProgressSink, signal?: AbortSignal): Promise<number> {
  const seen = new Set<string>();
  let restored = 0;
  for (const source of imports.sources) {
    for (const m of source.config.mounts ?? []) {
      if (seen.has(m.id)) continue;
      seen.add(m.id);
      const base = join(cacheMountsDir, m.id);
      const data = join(base, "data");
      try {
        await mkdir(base, { recursive: true });
        await withLock(layout, `cachemount-${m.id}-create`, async () => {
          if (await stat(data).then(() => true, () => false)) return;
          await source.fetch(m.blob, signal);
          const tmp = `${data}.tmp-${randomUUID()}`;
          await mkdir(tmp);
          try {
            await applyLayer(store.path(m.blob.digest), { mode: "flat", dir: tmp }, signal ? { signal } : {});
            await rename(tmp, data);
          } catch (err) {
            await rm(tmp, { recursive: true, force: true });
            throw err;
          }
          restored++;
        }, signal ? { signal } : {});
      } catch (err) {
        if (signal?.aborted) throw err;
        progress({ type: "warning", message: `cache ${source.name}: cache mount ${m.id.slice(0, 12)} was not restored: ${(err as Error).message}`, time: Date.now() });
      }
    }
  }
  return restored;
}
