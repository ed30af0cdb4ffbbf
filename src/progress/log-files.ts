import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { ProgressEvent, ProgressSink } from "./events.js";

/** Full per-vertex logs on disk: every byte a vertex logged, unclipped and unfiltered. */
export interface LogFiles {
  /** The progress sink to tee events into. Never throws: a failed write stops logging for that vertex only. */
  readonly write: ProgressSink;
  /** The log file of a vertex, if it logged anything. */
  pathFor(digest: string): string | undefined;
  /** Close every open file. Idempotent. */
  close(): void;
}

/**
 * Tee every vertex's log into its own file under `dir` (created if missing), named after the vertex digest
 * (`<first 12 hex digits>.log`). Writes are synchronous so the files are complete even if the process is
 * interrupted right after a failure, when the failure display points at them; log volume is small next to the
 * work that produces it.
 */
export function createLogFiles(dir: string): LogFiles {
  const fds = new Map<string, number>();
  const paths = new Map<string, string>();
  const broken = new Set<string>();
  let closed = false;
  let made = false;

  const open = (digest: string): number | undefined => {
    let fd = fds.get(digest);
    if (fd !== undefined || broken.has(digest)) return fd;
    try {
      if (!made) mkdirSync(dir, { recursive: true, mode: 0o700 });
      made = true;
      const path = join(dir, fileName(digest, paths.size));
      fd = openSync(path, "a", 0o600);
      fds.set(digest, fd);
      paths.set(digest, path);
      return fd;
    } catch {
      broken.add(digest);
      return undefined;
    }
  };

  const closeOne = (digest: string): void => {
    const fd = fds.get(digest);
    if (fd === undefined) return;
    fds.delete(digest);
    try {
      closeSync(fd);
    } catch {
      // Nothing useful to do: the bytes already written stay.
    }
  };

  const write = (e: ProgressEvent): void => {
    if (closed) return;
    if (e.type === "vertex.log") {
      const fd = open(e.digest);
      if (fd === undefined) return;
      try {
        let off = 0;
        while (off < e.data.length) off += writeSync(fd, e.data, off);
      } catch {
        broken.add(e.digest);
        closeOne(e.digest);
      }
    } else if (e.type === "vertex.done" || e.type === "vertex.error") {
      closeOne(e.digest);
    }
  };

  return {
    write,
    pathFor: (digest) => paths.get(digest),
    close: () => {
      closed = true;
      for (const d of [...fds.keys()]) closeOne(d);
    },
  };
}

function fileName(digest: string, index: number): string {
  const hex = digest.replace(/^[a-z0-9]+:/i, "").replace(/[^A-Za-z0-9]/g, "").slice(0, 12);
  return `${hex || `vertex-${index}`}.log`;
}
