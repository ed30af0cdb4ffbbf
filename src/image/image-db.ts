/**
 * The local image db (`images/db.json` in the tsbuild root): normalized names → manifest or index descriptors,
 * like buildah's local storage. Reads are lock-free (the file is replaced atomically); every change is a
 * read-modify-write under the root's `images` lock, so concurrent processes never lose each other's updates.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { openContentStore, withLock, writeFileAtomic, type ContentStore, type RootProvider } from "../store/index.js";
import type { Digest } from "../util/digest.js";
import { ImageError, imageNotFound } from "./errors.js";
import { parseReference } from "./reference.js";
import type { Descriptor } from "./types.js";
import { imageClosure, resolveImage } from "./walk.js";

/** One named local image. */
export interface ImageRecord {
  /** Normalized name, e.g. `docker.io/library/busybox:latest`. */
  readonly name: string;
  /** The manifest or index this name points to. */
  readonly target: Descriptor;
  /** Image ID: digest of the (host-platform) config. */
  readonly imageId: Digest;
  /** Bytes of manifest + config + layers (compressed) for the resolved platform. */
  readonly size: number;
  /** `created` from the image config, if any. */
  readonly created?: string;
  /** When this name was last set (ISO 8601). */
  readonly tagged: string;
}

interface DbFile {
  readonly version: 1;
  readonly images: Record<string, ImageRecord>;
}

/** Normalize a user-given name (`busybox` → `docker.io/library/busybox:latest`). */
export function normalizeImageName(name: string): string {
  const ref = parseReference(name);
  return ref.full;
}

/** Local images over a content store. */
export class ImageStore {
  readonly store: ContentStore;
  readonly #dbPath: string;

  constructor(store: ContentStore) {
    this.store = store;
    this.#dbPath = join(store.layout.images, "db.json");
  }

  async #read(): Promise<DbFile> {
    let text: string;
    try {
      text = await readFile(this.#dbPath, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, images: {} };
      throw err;
    }
    try {
      const db = JSON.parse(text) as DbFile;
      if (db.version !== 1 || typeof db.images !== "object") throw new Error("bad shape");
      return db;
    } catch (err) {
      throw new ImageError("TSB_IMAGE_INVALID", `image db ${this.#dbPath} is unreadable`, { cause: err, hint: "restore it from a backup or remove it (images can be re-pulled; blobs stay)" });
    }
  }

  async #update<T>(fn: (images: Record<string, ImageRecord>) => Promise<T> | T): Promise<T> {
    return withLock(this.store.layout, "images", async () => {
      const db = await this.#read();
      const images = { ...db.images };
      const result = await fn(images);
      await writeFileAtomic(this.#dbPath, `${JSON.stringify({ version: 1, images }, null, 1)}\n`);
      return result;
    });
  }

  /** Point `name` at `target` (which must be in the store). Returns the record. */
  async putImage(name: string, target: Descriptor): Promise<ImageRecord> {
    const full = normalizeImageName(name);
    const ref = parseReference(full);
    if (ref.digest !== undefined) {
      throw new ImageError("TSB_IMAGE_INVALID", `cannot name a local image with a digest reference ${JSON.stringify(name)}`, { hint: "use NAME:TAG" });
    }
    const r = await resolveImage(this.store, target);
    let size = r.manifestDescriptor.size + r.manifest.config.size;
    for (const l of r.manifest.layers) size += l.size;
    const rec: ImageRecord = {
      name: full,
      target: { mediaType: target.mediaType, digest: target.digest, size: target.size, ...(target.annotations ? { annotations: target.annotations } : {}) },
      imageId: r.configDigest,
      size,
      ...(r.config.created ? { created: r.config.created } : {}),
      tagged: new Date().toISOString(),
    };
    await this.#update((images) => {
      images[full] = rec;
    });
    return rec;
  }

  /**
   * Find an image by name (`busybox`, `localhost:5000/app:1`), by `NAME@sha256:…` (manifest digest), or by image
   * ID (`sha256:…` or a hex prefix of at least 4 characters). Undefined if absent.
   */
  async findImage(nameOrId: string): Promise<ImageRecord | undefined> {
    const db = await this.#read();
    const all = Object.values(db.images);
    const id = /^(sha256:)?([a-f0-9]{4,64})$/.exec(nameOrId);
    if (id) {
      const hex = id[2]!;
      const hits = all.filter((r) => r.imageId.slice(7).startsWith(hex) || r.target.digest.slice(7).startsWith(hex));
      const ids = new Set(hits.map((r) => r.imageId));
      if (ids.size > 1) throw new ImageError("TSB_IMAGE_AMBIGUOUS", `image ID prefix ${nameOrId} matches ${ids.size} images`, { hint: "give more characters of the ID" });
      if (hits[0]) return hits[0];
      if (id[1] || hex.length === 64) return undefined;
    }
    const ref = parseReference(nameOrId);
    if (ref.digest !== undefined) return all.find((r) => r.name.startsWith(`${ref.name}:`) && r.target.digest === ref.digest);
    return db.images[ref.full];
  }

  /** Like `findImage` but throws `TSB_IMAGE_NOT_FOUND`. */
  async getImage(nameOrId: string): Promise<ImageRecord> {
    const rec = await this.findImage(nameOrId);
    if (!rec) throw imageNotFound(nameOrId);
    return rec;
  }

  /** All named images, sorted by name. */
  async listImages(): Promise<ImageRecord[]> {
    const db = await this.#read();
    return Object.values(db.images).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Remove names. A name removes that name only; an image ID removes every name of that image. Returns the removed
   * records; throws `TSB_IMAGE_NOT_FOUND` if nothing matched. Content is left for `prune`.
   */
  async deleteImage(nameOrId: string): Promise<ImageRecord[]> {
    const rec = await this.getImage(nameOrId);
    const hex = /^(?:sha256:)?([a-f0-9]{4,64})$/.exec(nameOrId)?.[1];
    const byId = hex !== undefined && (rec.imageId.slice(7).startsWith(hex) || rec.target.digest.slice(7).startsWith(hex));
    return this.#update((images) => {
      const removed: ImageRecord[] = [];
      for (const [k, r] of Object.entries(images)) {
        if (byId ? r.imageId === rec.imageId : k === rec.name) {
          removed.push(r);
          delete images[k];
        }
      }
      if (removed.length === 0) throw imageNotFound(nameOrId);
      return removed;
    });
  }

  /** Give the image `src` the additional name `dst`. */
  async tagImage(src: string, dst: string): Promise<ImageRecord> {
    const rec = await this.getImage(src);
    return this.putImage(dst, rec.target);
  }

  /** A GC root provider: every blob reachable from a named image. */
  rootProvider(): RootProvider {
    return {
      kind: "images",
      roots: async () => {
        const set = new Set<Digest>();
        for (const r of await this.listImages()) await imageClosure(this.store, r.target, set);
        return set;
      },
    };
  }
}

/** Open the image store of a tsbuild root. */
export async function openImageStore(root: string): Promise<ImageStore> {
  return new ImageStore(await openContentStore(root));
}
