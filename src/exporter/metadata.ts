/**
 * `--iidfile` and `--metadata-file`, with the content buildx writes: the image ID (config digest) without a newline,
 * and a JSON object with BuildKit's exporter response keys.
 */
import { writeFileAtomic } from "../store/index.js";
import type { Descriptor } from "../image/index.js";
import type { Digest } from "../util/digest.js";
import { ExportError } from "./errors.js";

/** What the metadata file describes: the image written (or pushed) and its names. */
export interface ImageMetadataSource {
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  /** Normalized names the image was given (stored, pushed or written into an archive). */
  readonly names: readonly string[];
}

/** The `--metadata-file` object: BuildKit's keys (`containerimage.digest`, …), absent ones left out. */
export function buildMetadata(image: ImageMetadataSource | undefined): Record<string, unknown> {
  if (!image) return {};
  const d = image.manifest;
  return {
    "containerimage.config.digest": image.config.digest,
    "containerimage.descriptor": {
      mediaType: d.mediaType,
      digest: d.digest,
      size: d.size,
      ...(d.annotations && Object.keys(d.annotations).length > 0 ? { annotations: d.annotations } : {}),
    },
    "containerimage.digest": d.digest,
    ...(image.names.length > 0 ? { "image.name": image.names.join(",") } : {}),
  };
}

/** Write `--metadata-file` (pretty JSON, as buildx does). */
export async function writeMetadataFile(path: string, metadata: Readonly<Record<string, unknown>>): Promise<void> {
  await writeOut(path, `${JSON.stringify(metadata, null, 2)}\n`, "metadata file");
}

/** Write `--iidfile`: the image ID (`sha256:…` of the config), no newline, as docker does. */
export async function writeIidFile(path: string, imageId: Digest): Promise<void> {
  await writeOut(path, imageId, "image ID file");
}

async function writeOut(path: string, text: string, what: string): Promise<void> {
  try {
    await writeFileAtomic(path, text);
  } catch (err) {
    throw new ExportError("TSB_EXPORT_WRITE", `writing the ${what} ${path} failed: ${(err as Error).message}`, {
      cause: err,
      hint: "check that the directory exists and is writable",
    });
  }
}
