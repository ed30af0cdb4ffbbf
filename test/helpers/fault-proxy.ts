/**
 * A TCP proxy on 127.0.0.1 in front of a registry that injects faults on demand:
 *  - `failNext(n, status)`: the next n new connections get one canned HTTP answer (500, 429 + Retry-After, …) and
 *    are closed;
 *  - `dropNext(afterBytes)`: the next connection that carries more than `afterBytes` bytes downstream (or upstream)
 *    is cut there (a connection dropped mid-blob);
 *  - `stallNext(afterBytes)`: same, but the connection just stops forwarding (a stalled transfer).
 * Everything else is forwarded byte for byte.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface FaultProxy {
  /** `127.0.0.1:PORT`, to use as the registry host. */
  readonly host: string;
  failNext(count: number, status: number, headers?: Readonly<Record<string, string>>): void;
  /** Cut the next `count` connections after `afterBytes` bytes in `direction` (down: responses, up: requests). */
  dropNext(afterBytes: number, opts?: { count?: number; direction?: "down" | "up" }): void;
  stallNext(afterBytes: number, opts?: { count?: number; direction?: "down" | "up" }): void;
  /** Connections accepted so far, and faults injected so far. */
  readonly stats: { connections: number; failed: number; dropped: number; stalled: number };
  stop(): Promise<void>;
}

const REASONS: Readonly<Record<number, string>> = { 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable" };

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const [targetHost, targetPort] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
  const sockets = new Set<Socket>();
  let fail: { count: number; status: number; headers: Readonly<Record<string, string>> } | undefined;
  let cut: { mode: "drop" | "stall"; afterBytes: number; count: number; direction: "down" | "up" } | undefined;
  const stats = { connections: 0, failed: 0, dropped: 0, stalled: 0 };

  const track = (s: Socket): void => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
  };

  const server: Server = createServer((client) => {
    track(client);
    stats.connections++;
    if (fail && fail.count > 0) {
      fail.count--;
      const f = fail;
      stats.failed++;
      let head = "";
      client.on("data", (d: Buffer) => {
        head += d.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        const body = JSON.stringify({ errors: [{ code: f.status === 429 ? "TOOMANYREQUESTS" : "UNKNOWN", message: "injected fault" }] });
        const extra = Object.entries(f.headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
        client.end(`HTTP/1.1 ${f.status} ${REASONS[f.status] ?? "Error"}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${extra}Connection: close\r\n\r\n${body}`);
      });
      return;
    }
    const upstream = connect(targetPort, targetHost);
    track(upstream);
    const forwarded = { down: 0, up: 0 };
    let stopped = false;
    const forward = (from: Socket, to: Socket, dir: "down" | "up"): void => {
      from.on("data", (chunk: Buffer) => {
        if (stopped) return;
        const c = cut;
        if (c && c.count > 0 && c.direction === dir && forwarded[dir] + chunk.length > c.afterBytes) {
          c.count--;
          stopped = true;
          to.write(chunk.subarray(0, Math.max(0, c.afterBytes - forwarded[dir])));
          if (c.mode === "drop") {
            stats.dropped++;
            client.destroy();
            upstream.destroy();
          } else {
            stats.stalled++;
            client.pause();
            upstream.pause();
          }
          return;
        }
        forwarded[dir] += chunk.length;
        if (!to.write(chunk)) {
          from.pause();
          to.once("drain", () => !stopped && from.resume());
        }
      });
      from.on("end", () => !stopped && to.end());
      from.on("close", () => !stopped && to.destroy());
    };
    forward(upstream, client, "down");
    forward(client, upstream, "up");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    stats,
    failNext(count, status, headers = {}) {
      fail = { count, status, headers };
    },
    dropNext(afterBytes, o = {}) {
      cut = { mode: "drop", afterBytes, count: o.count ?? 1, direction: o.direction ?? "down" };
    },
    stallNext(afterBytes, o = {}) {
      cut = { mode: "stall", afterBytes, count: o.count ?? 1, direction: o.direction ?? "down" };
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
