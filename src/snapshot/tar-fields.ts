/** Header fields of the ustar tars tsbuild's exporter writes, read straight from the 512-byte header bytes. */

/** An octal number field (leading spaces, then digits up to a NUL or space); undefined when it is not plain octal (base-256 included). */
export function octalField(b: Buffer, off: number, len: number): number | undefined {
  let i = off;
  const end = off + len;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return undefined;
    v = v * 8 + (c - 0x30);
  }
  return v;
}

/** A NUL-terminated (or full-length) string field, as UTF-8. */
export function stringField(b: Buffer, off: number, len: number): string {
  const z = b.indexOf(0, off);
  return b.toString("utf8", off, z < 0 || z > off + len ? off + len : z);
}
