import { createHash } from "node:crypto";

/** A content digest in OCI form: `sha256:<64 hex>`. Branded so a plain string is not accepted by accident. */
export type Digest = string & { readonly __brand: "Digest" };

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(value: string): value is Digest {
  return DIGEST_RE.test(value);
}

/** Validate and brand a digest string; throws TypeError naming the bad value. */
export function asDigest(value: string): Digest {
  if (!isDigest(value)) throw new TypeError(`expected a sha256 digest "sha256:<64 hex>", got ${JSON.stringify(value)}`);
  return value;
}

export function sha256(data: string | Uint8Array): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}` as Digest;
}

/** The hex part of a digest (used for file names such as `blobs/sha256/<hex>`). */
export function digestHex(digest: Digest): string {
  return digest.slice("sha256:".length);
}
