/**
 * `tsbuild import`: a rootfs tarball (plain or gzip) becomes a one-layer image, like `docker import`. The layer is
 * re-compressed as a gzip OCI layer; diff_id is the sha256 of the uncompressed tar; the config carries the host
 * platform and one history entry `created_by: "tsbuild import"`. This is how an offline machine gets a base image.
 */
import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import type { ByteSource, ContentStore } from "../store/index.js";
import type { Digest } from "../util/digest.js";
import { peek } from "../util/archive-stream.js";
import { ImageError } from "./errors.js";
import { MediaType, type Descriptor, type ImageConfig, type Platform } from "./types.js";
import { hostPlatform } from "./walk.js";
import { writeImage, type WrittenImage } from "./write-image.js";

/** Options of `importRootfs`. */
export interface ImportOptions {
  /** @default the host platform */
  readonly platform?: Platform;
  /** Config `created`. @default now */
  readonly created?: Date;
  /** Extra history comment (e.g. the source file name). */
  readonly comment?: string;
  readonly signal?: AbortSignal;
}

/** Result of an import: the written image plus its single layer. */
export interface ImportedImage extends WrittenImage {
  readonly layer: Descriptor;
  readonly diffId: Digest;
}

function invalid(problem: string): ImageError {
  return new ImageError("TSB_IMAGE_ARCHIVE_INVALID", `cannot import rootfs: ${problem}`, {
    hint: "give a tar archive of a root filesystem (optionally gzip-compressed), e.g. made with 'tar -C ROOTFS -cf rootfs.tar .'",
  });
}

/** Import a rootfs tar (plain or gzip) from `source` as a one-layer image in the store. */
export async function importRootfs(store: ContentStore, source: ByteSource, opts: ImportOptions = {}): Promise<ImportedImage> {
  const { head, stream } = await peek(source, 4);
  if (head.length === 0) throw invalid("the input is empty");
  const gz = head[0] === 0x1f && head[1] === 0x8b;
  if (!gz && head.length >= 4 && head.readUInt32BE(0) === 0x28b52ffd) throw invalid("zstd-compressed input is not supported; decompress it first");
  if (!gz && head[0] === 0xfd && head[1] === 0x37) throw invalid("xz-compressed input is not supported; decompress it first (xz -d)");
  if (!gz && head[0] === 0x42 && head[1] === 0x5a) throw invalid("bzip2-compressed input is not supported; decompress it first (bunzip2)");

  const diffHash = createHash("sha256");
  let seen = 0;
  let header = Buffer.alloc(0);
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (header.length < 512) {
        header = Buffer.concat([header, chunk.subarray(0, 512 - header.length)]);
        if (header.length >= 512 && header.toString("latin1", 257, 262) !== "ustar") {
          cb(invalid("the input is not a tar archive (no ustar header)"));
          return;
        }
      }
      diffHash.update(chunk);
      seen += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      cb(seen < 512 ? invalid("the tar archive is truncated or empty") : null);
    },
  });
  const w = await store.writer();
  try {
    const stages: NodeJS.ReadWriteStream[] = gz ? [createGunzip(), check, createGzip({ level: 6 })] : [check, createGzip({ level: 6 })];
    await pipeline([stream, ...stages, w.stream]);
    const blob = await w.commit();
    const diffId = `sha256:${diffHash.digest("hex")}` as Digest;
    const created = (opts.created ?? new Date()).toISOString();
    const platform = opts.platform ?? hostPlatform();
    const config: ImageConfig = {
      created,
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: {},
      rootfs: { type: "layers", diff_ids: [diffId] },
      history: [{ created, created_by: "tsbuild import", ...(opts.comment ? { comment: opts.comment } : {}) }],
    };
    const layer: Descriptor = { mediaType: MediaType.ociLayerGzip, digest: blob.digest, size: blob.size };
    const written = await writeImage(store, { config, layers: [layer] }, { mediaTypes: "oci" });
    return { ...written, layer, diffId };
  } catch (err) {
    await w.abort();
    if (err instanceof ImageError) throw err;
    if ((err as { code?: string }).code === "Z_DATA_ERROR" || (err as { code?: string }).code === "Z_BUF_ERROR") throw invalid("the gzip data is corrupt");
    throw err;
  }
}
