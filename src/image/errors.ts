/**
 * Errors of the local image room (`TSB_IMAGE_*`): unknown images, invalid manifests, hostile or broken archives.
 */
import { TsbuildError, type TsbuildErrorOptions } from "../errors.js";

/** Stable codes raised by src/image (besides `TSB_REF_INVALID` from reference.ts). */
export type ImageErrorCode =
  | "TSB_IMAGE_NOT_FOUND"
  | "TSB_IMAGE_AMBIGUOUS"
  | "TSB_IMAGE_INVALID"
  | "TSB_IMAGE_ARCHIVE_INVALID"
  | "TSB_IMAGE_ARCHIVE_UNSAFE";

export class ImageError extends TsbuildError {
  declare readonly code: ImageErrorCode;
  constructor(code: ImageErrorCode, message: string, options: TsbuildErrorOptions = {}) {
    super(code, message, options);
    this.name = "ImageError";
  }
}

export function imageNotFound(name: string): ImageError {
  return new ImageError("TSB_IMAGE_NOT_FOUND", `image ${JSON.stringify(name)} not found in the local image store`, {
    hint: "run 'tsbuild images' to list local images, or pull, load or import it first",
  });
}
