/**
 * The context room's persisted files (the file index, selection memos, listings): one JSON header line carrying the
 * sha256 of the body that follows, written temp + rename. A torn, corrupt or foreign file reads as absent.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { ContextReadError, describeFsError } from "./errors.js";

const sha256Hex = (s: string): string => createHash("sha256").update(s).digest("hex");

/** Write `header` (plus the body's sha256) and `body` to `file`; `durable` fsyncs before the rename. */
export async function writeSealed(file: string, header: Readonly<Record<string, unknown>>, body: string, opts: { readonly durable?: boolean } = {}): Promise<void> {
  await mkdir(join(file, ".."), { recursive: true });
  const text = `${JSON.stringify({ ...header, sha256: sha256Hex(body) })}\n${body}`;
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    const fh = await open(tmp, "wx", 0o600);
    try {
      await fh.writeFile(text);
      if (opts.durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new ContextReadError(file, `cannot write the context index: ${describeFsError(err)}`, err);
  }
}

/** The header and body of `file` when it exists and its body matches the header's sha256; else undefined. */
export async function readSealed(file: string): Promise<{ readonly header: Record<string, unknown>; readonly body: string } | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  const nl = text.indexOf("\n");
  if (nl === -1) return undefined;
  try {
    const header = JSON.parse(text.slice(0, nl)) as unknown;
    const body = text.slice(nl + 1);
    if (typeof header !== "object" || header === null || (header as { sha256?: unknown }).sha256 !== sha256Hex(body)) return undefined;
    return { header: header as Record<string, unknown>, body };
  } catch {
    return undefined;
  }
}
