/**
 * Client of tsbuild-fsd (native/fsd.c), the snapshot room's filesystem co-process: one child per tsbuild process,
 * started on first use, answering mount/umount/xattr/mknod requests in order over its stdin/stdout. It replaces a
 * spawn of mount, umount, getfattr, setfattr or mknod per call: Node forks its whole address space for every spawn
 * (1.5–4 ms of main-thread time each), and paths and values cross the pipe as plain bytes, never quoted.
 *
 * The child is unref'd (it never keeps the process alive) and dies with it (stdin EOF, PDEATHSIG, exit hook). If it
 * dies, requests in flight fail and the next request starts it again, once; after a second death, when it cannot
 * be built (no `cc`) or when `TSBUILD_FSD=0`, {@link fsdRequest} answers `undefined` and callers use the tools.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { getSystemErrorName } from "node:util";
import { buildNative } from "../util/native-build.js";
import { SnapshotError } from "./errors.js";
import { decodeName, rawBytes } from "./raw-names.js";

/** Request codes; see native/fsd.c for the fields of each. */
export const FsdOp = { ping: 0, mount: 1, umount: 2, xattrs: 3, xattrTree: 4, setXattrs: 5, mknod: 6, clone: 7, lstatDir: 8 } as const;
export type FsdOp = (typeof FsdOp)[keyof typeof FsdOp];

/** An operation the co-process ran and the kernel refused: the errno, its name and strerror's text. */
export class FsdErrnoError extends Error {
  readonly errno: number;
  /** e.g. `ENOENT`. */
  readonly code: string;
  constructor(errno: number, message: string) {
    super(message);
    this.name = "FsdErrnoError";
    this.errno = errno;
    this.code = errnoName(errno);
  }
}

function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `E${errno}`;
  }
}

interface Pending {
  readonly resolve: (payload: Buffer) => void;
  readonly reject: (e: Error) => void;
}

/** One running co-process and the requests it has not answered yet. */
class FsdProcess {
  readonly child: ChildProcess;
  readonly #pending: Pending[] = [];
  #buf: Buffer = Buffer.alloc(0);
  #dead: string | undefined;
  constructor(path: string) {
    this.child = spawn(path, [], { stdio: ["pipe", "pipe", "inherit"] });
    this.child.unref();
    this.child.stdout!.on("data", (b: Buffer) => this.#onData(b));
    this.child.stdin!.on("error", () => {}); // a dead child is reported by "close" below
    this.child.on("error", (e) => this.#die(`cannot start: ${e.message}`));
    // "close", not "exit": answers written before it died are still in the pipe and must reach their requests first
    this.child.on("close", (code, signal) => this.#die(signal ? `killed by ${signal}` : `exited with status ${code}`));
    this.#setRef(false);
  }

  get dead(): boolean {
    return this.#dead !== undefined;
  }

  request(frame: Buffer): Promise<Buffer> {
    if (this.#dead) return Promise.reject(this.#deathError());
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      if (this.#pending.length === 1) this.#setRef(true);
      this.child.stdin!.write(frame);
    });
  }

  kill(): void {
    if (!this.#dead) this.child.kill("SIGKILL");
  }

  /** While a request is out, the pipe holds the event loop open (the answer is awaited); otherwise nothing does. */
  #setRef(on: boolean): void {
    const out = this.child.stdout as unknown as { ref?: () => void; unref?: () => void };
    const inp = this.child.stdin as unknown as { unref?: () => void };
    if (on) out.ref?.();
    else out.unref?.();
    inp.unref?.();
  }

  #onData(b: Buffer): void {
    this.#buf = this.#buf.length === 0 ? b : Buffer.concat([this.#buf, b]);
    while (this.#buf.length >= 4) {
      const len = this.#buf.readUInt32LE(0);
      if (this.#buf.length < 4 + len) break;
      const frame = this.#buf.subarray(4, 4 + len);
      this.#buf = this.#buf.subarray(4 + len);
      const p = this.#pending.shift();
      if (this.#pending.length === 0) this.#setRef(false);
      if (!p) continue;
      const errno = frame.readInt32LE(0);
      if (errno === 0) p.resolve(frame.subarray(4));
      else p.reject(new FsdErrnoError(errno, frame.subarray(4).toString("utf8")));
    }
    if (this.#buf.length === 0) this.#buf = Buffer.alloc(0);
  }

  #die(why: string): void {
    if (this.#dead) return;
    this.#dead = why;
    const err = this.#deathError();
    for (const p of this.#pending.splice(0)) p.reject(err);
    this.#setRef(false);
  }

  #deathError(): SnapshotError {
    return new SnapshotError("TSB_SNAPSHOT_IO", `the filesystem helper tsbuild-fsd ${this.#dead ?? "died"} during a request`,
      "retry the build; if it keeps happening, set TSBUILD_FSD=0 to use the Debian tools (mount, attr, coreutils)");
  }
}

/** Process-wide state: the running co-process, how many times it was started, and why it is off (if it is). */
let current: FsdProcess | undefined;
let starts = 0;
let off: string | undefined;
let exitHooked = false;

/** How many times a co-process may be started per tsbuild process (the first start and one restart). */
const MAX_STARTS = 2;

function ensure(): FsdProcess | undefined {
  if (process.env.TSBUILD_FSD === "0") return undefined;
  if (current && !current.dead) return current;
  if (off !== undefined) return undefined;
  if (starts >= MAX_STARTS) {
    off = "tsbuild-fsd died twice";
    return undefined;
  }
  let path: string;
  try {
    path = buildNative({ name: "tsbuild-fsd", sources: (f) => f.startsWith("fsd"), libs: ["-lpthread"] });
  } catch (e) {
    off = (e as Error).message; // no cc, no native/ sources, nowhere to write: the tools do the work
    return undefined;
  }
  starts++;
  current = new FsdProcess(path);
  if (current.child.pid === undefined) {
    // spawn failed at once (e.g. a noexec temp dir): no request has been sent yet, so the tools take over cleanly
    off = `cannot start ${path}`;
    current = undefined;
    return undefined;
  }
  if (!exitHooked) {
    exitHooked = true;
    process.once("exit", () => current?.kill());
  }
  return current;
}

/**
 * Send one request; the answer's payload on success. `undefined` when the co-process is not in use (disabled, not
 * buildable, or died twice): the caller then uses the Debian tools. Rejects with {@link FsdErrnoError} when the
 * kernel refused the operation, or with a SnapshotError when the co-process died while the request was out.
 */
export function fsdRequest(op: FsdOp, fields: readonly FsdField[]): Promise<Buffer> | undefined {
  const p = ensure();
  return p ? p.request(encodeRequest(op, fields)) : undefined;
}

/** A request field: a string or bytes (length-prefixed, 0-terminated on the wire) or a number (u32). */
export type FsdField = string | Buffer | number;

function encodeRequest(op: FsdOp, fields: readonly FsdField[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(5)];
  let len = 1;
  for (const f of fields) {
    if (typeof f === "number") {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(f >>> 0);
      parts.push(b);
      len += 4;
    } else {
      const data = typeof f === "string" ? rawBytes(f) : f;
      const head = Buffer.alloc(4);
      head.writeUInt32LE(data.length);
      parts.push(head, data, ZERO);
      len += 5 + data.length;
    }
  }
  parts[0]!.writeUInt32LE(len, 0);
  parts[0]!.writeUInt8(op, 4);
  return Buffer.concat(parts, len + 4);
}

const ZERO = Buffer.alloc(1);

/** Decode the records of an XATTRS / XATTR_TREE answer: each path that has attributes, with its names and values. */
export function decodeXattrRecords(payload: Buffer, each: (path: string, attrs: ReadonlyArray<readonly [name: string, value: Buffer]>) => void): void {
  let at = 0;
  const field = (): Buffer => {
    const n = payload.readUInt32LE(at);
    const b = payload.subarray(at + 4, at + 4 + n);
    at += 5 + n;
    return b;
  };
  while (at < payload.length) {
    const path = decodeName(field());
    const count = payload.readUInt32LE(at);
    at += 4;
    const attrs: Array<readonly [string, Buffer]> = [];
    // values are copied: a slice would keep the whole (possibly large) answer alive
    for (let i = 0; i < count; i++) attrs.push([field().toString("utf8"), Buffer.from(field())]);
    if (count > 0) each(path, attrs);
  }
}

/** The co-process's state, for tests and `doctor`: its pid when running, or why the tools are used. */
export function fsdStatus(): { readonly pid?: number; readonly starts: number; readonly off?: string } {
  if (process.env.TSBUILD_FSD === "0") return { starts, off: "TSBUILD_FSD=0" };
  return { ...(current && !current.dead && current.child.pid !== undefined ? { pid: current.child.pid } : {}), starts, ...(off !== undefined ? { off } : {}) };
}

/** Start the co-process now (normally it starts on first use); false when the tools will be used. */
export async function startFsd(): Promise<boolean> {
  const r = fsdRequest(FsdOp.ping, []);
  if (!r) return false;
  await r;
  return true;
}

/** Forget everything (tests): kill the co-process, reset the restart count and the "off" state. */
export function resetFsd(): void {
  current?.kill();
  current = undefined;
  starts = 0;
  off = undefined;
}
