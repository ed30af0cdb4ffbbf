/**
 * The socket behind RUN --mount=type=ssh: a unix socket in a private directory of the build, owned by the mount's
 * uid/gid with its mode, that relays each connection to the forwarded ssh agent. Like BuildKit's read-only agent
 * (session/sshforward/sshprovider), only listing keys and signing reach the agent; adding, removing, locking and
 * extensions are answered SSH_AGENT_FAILURE here, so a RUN can use the user's keys but never change the agent.
 */
import { chmod, chown, open, rm } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";

/** Agent protocol message types (draft-miller-ssh-agent). */
const SSH_AGENT_FAILURE = 5;
const SSH_AGENTC_REQUEST_IDENTITIES = 11;
const SSH_AGENTC_SIGN_REQUEST = 13;
/** The requests relayed to the agent; every other one gets SSH_AGENT_FAILURE. */
const RELAYED: ReadonlySet<number> = new Set([SSH_AGENTC_REQUEST_IDENTITIES, SSH_AGENTC_SIGN_REQUEST]);
/** OpenSSH's limit on one agent message (AGENT_MAX_LEN). */
const MAX_MESSAGE = 256 * 1024;
/** Longest socket path bind(2) takes (sun_path is 108 bytes with its NUL), with a margin. */
const MAX_SUN_PATH = 100;

/** Options of {@link startSshProxy}. */
export interface SshProxyOptions {
  /** The forwarded agent's socket (a host path; never shown). */
  readonly agentSocket: string;
  /** A fresh private (0700) directory for the proxy socket; the caller removes it. */
  readonly dir: string;
  /** Owner of the proxy socket (session ids). */
  readonly uid: number;
  readonly gid: number;
  /** Permission bits of the proxy socket (masked to 0777, as BuildKit). */
  readonly mode: number;
}

/** A listening proxy socket. */
export interface SshProxy {
  /** Path of the proxy socket, to bind-mount at the RUN's target. */
  readonly path: string;
  /** Stop listening, drop every open connection and remove the socket. Never throws; safe to call twice. */
  close(): Promise<void>;
}

/** Listen on `<dir>/ssh_auth_sock`, relaying to `agentSocket` (see the file header). */
export async function startSshProxy(opts: SshProxyOptions): Promise<SshProxy> {
  const path = join(opts.dir, "ssh_auth_sock");
  const live = new Set<Socket>();
  const server = createServer((client) => relay(client, opts.agentSocket, live));
  await listen(server, path, opts.dir);
  const close = async (): Promise<void> => {
    for (const s of live) s.destroy();
    live.clear();
    await new Promise<void>((res) => server.close(() => res()));
    await rm(path, { force: true }).catch(() => {});
  };
  try {
    await chown(path, opts.uid, opts.gid);
    await chmod(path, opts.mode & 0o777);
  } catch (err) {
    await close();
    throw err;
  }
  return { path, close };
}

/** Listen at `path`; a path too long for a socket address is reached through /proc/self/fd of its directory. */
async function listen(server: Server, path: string, dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  let at = path;
  if (Buffer.byteLength(path) > MAX_SUN_PATH) {
    handle = await open(dir, "r");
    at = `/proc/self/fd/${handle.fd}/ssh_auth_sock`;
  }
  try {
    await new Promise<void>((res, rej) => {
      server.once("error", rej);
      server.listen(at, () => {
        server.off("error", rej);
        res();
      });
    });
  } finally {
    await handle?.close();
  }
}

/** Split a byte stream into agent messages (uint32 length, then the message); undefined after a bad length. */
class Frames {
  #buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
  }
  /** The next whole message (with its length prefix), null when incomplete, undefined when malformed. */
  next(): Buffer | null | undefined {
    if (this.#buf.length < 4) return null;
    const len = this.#buf.readUInt32BE(0);
    if (len === 0 || len > MAX_MESSAGE) return undefined;
    if (this.#buf.length < 4 + len) return null;
    const msg = this.#buf.subarray(0, 4 + len);
    this.#buf = this.#buf.subarray(4 + len);
    return msg;
  }
}

const FAILURE = Buffer.from([0, 0, 0, 1, SSH_AGENT_FAILURE]);

/**
 * One client connection: its requests are answered one at a time, in order (the agent protocol is strictly
 * request/response); relayed ones over a connection to the agent opened on first use.
 */
function relay(client: Socket, agentSocket: string, live: Set<Socket>): void {
  live.add(client);
  let agent: Socket | undefined;
  const fromClient = new Frames();
  const fromAgent = new Frames();
  const queue: Buffer[] = [];
  let waiting: ((reply: Buffer) => void) | undefined;
  let busy = false;
  const drop = (): void => {
    client.destroy();
    agent?.destroy();
  };
  client.on("close", () => {
    live.delete(client);
    agent?.destroy();
  });
  client.on("error", drop);

  const connectAgent = (): Socket => {
    const s = createConnection(agentSocket);
    live.add(s);
    s.on("data", (chunk: Buffer) => {
      fromAgent.push(chunk);
      for (;;) {
        const reply = fromAgent.next();
        if (reply === null) return;
        // A malformed or unasked-for reply: the agent is not speaking the protocol.
        if (reply === undefined || !waiting) return drop();
        const w = waiting;
        waiting = undefined;
        w(reply);
      }
    });
    // An agent that went away ends the client's connection too (its ssh sees the agent fail).
    s.on("error", drop);
    s.on("close", () => {
      live.delete(s);
      client.destroy();
    });
    return s;
  };

  const pump = (): void => {
    if (busy) return;
    const msg = queue.shift();
    if (!msg) return;
    const type = msg[4]!;
    if (!RELAYED.has(type)) {
      client.write(FAILURE);
      pump();
      return;
    }
    busy = true;
    waiting = (reply) => {
      client.write(reply);
      busy = false;
      pump();
    };
    agent ??= connectAgent();
    agent.write(msg);
  };

  client.on("data", (chunk: Buffer) => {
    fromClient.push(chunk);
    for (;;) {
      const msg = fromClient.next();
      if (msg === undefined) return drop();
      if (msg === null) break;
      queue.push(msg);
    }
    pump();
  });
}
