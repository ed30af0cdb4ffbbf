import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSshProxy } from "../../../src/ops/ssh-proxy.js";
import { run, startSshAgent, type TestSshAgent } from "../../helpers/ssh-agent.js";

let agent: TestSshAgent;
let base: string;
beforeAll(async () => {
  agent = await startSshAgent();
  base = mkdtempSync(join(tmpdir(), "tsb-sshproxy-"));
});
afterAll(async () => {
  await agent?.stop();
  if (base) rmSync(base, { recursive: true, force: true });
});

let n = 0;
function freshDir(name = `d${n++}`): string {
  const dir = join(base, name);
  mkdirSync(dir, { mode: 0o700, recursive: true });
  return dir;
}

const ids = { uid: process.getuid!(), gid: process.getgid!() };

/** Send raw agent messages and collect `replies` whole replies. */
function talk(socket: string, bytes: Buffer, replies: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const c = createConnection(socket);
    let buf = Buffer.alloc(0);
    const out: Buffer[] = [];
    c.on("error", reject);
    c.on("data", (b: Buffer) => {
      buf = Buffer.concat([buf, b]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0);
        out.push(buf.subarray(4, 4 + len));
        buf = buf.subarray(4 + len);
      }
      if (out.length >= replies) {
        c.destroy();
        resolve(out);
      }
    });
    c.on("close", () => resolve(out));
    c.write(bytes);
  });
}
const msg = (...bytes: number[]): Buffer => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), Buffer.from(bytes)]);

describe("the ssh agent proxy socket", () => {
  it("lists and signs through the real agent, with the socket's owner and mode as asked", async () => {
    const proxy = await startSshProxy({ agentSocket: agent.socket, dir: freshDir(), ...ids, mode: 0o640 });
    try {
      const st = lstatSync(proxy.path);
      expect(st.isSocket()).toBe(true);
      expect(st.mode & 0o777).toBe(0o640);
      expect([st.uid, st.gid]).toEqual([ids.uid, ids.gid]);
      const listed = await agent.sshAdd(["-l"], proxy.path);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain(agent.comment);
      // A signature made by the agent through the proxy (ssh-keygen -Y sign uses the agent for a public key).
      const data = join(base, "data.txt");
      writeFileSync(data, "sign me\n");
      rmSync(`${data}.sig`, { force: true });
      const sig = await run("ssh-keygen", ["-Y", "sign", "-n", "file", "-f", `${agent.keyFile}.pub`, data], { SSH_AUTH_SOCK: proxy.path });
      expect(sig.stderr).not.toMatch(/error|fail/i);
      expect(existsSync(`${data}.sig`)).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it("refuses to change the agent: add, remove and lock get SSH_AGENT_FAILURE, the key stays", async () => {
    const proxy = await startSshProxy({ agentSocket: agent.socket, dir: freshDir(), ...ids, mode: 0o600 });
    try {
      expect((await agent.sshAdd(["-D"], proxy.path)).code).not.toBe(0);
      expect((await agent.sshAdd(["-d", `${agent.keyFile}.pub`], proxy.path)).code).not.toBe(0);
      // remove-all, lock, an extension, then identities: replies in order, the refused ones as failure (5).
      const replies = await talk(proxy.path, Buffer.concat([msg(19), msg(22, 0, 0, 0, 0), msg(27, 0, 0, 0, 0), msg(11)]), 4);
      expect(replies.map((r) => r[0])).toEqual([5, 5, 5, 12]);
      expect((await agent.sshAdd(["-l"])).stdout).toContain(agent.comment);
    } finally {
      await proxy.close();
    }
  });

  it("drops a client that sends a bad length", async () => {
    const proxy = await startSshProxy({ agentSocket: agent.socket, dir: freshDir(), ...ids, mode: 0o600 });
    try {
      const replies = await talk(proxy.path, Buffer.from([0xff, 0xff, 0xff, 0xff, 11]), 1);
      expect(replies).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it("close() ends open connections, removes the socket and is safe twice", async () => {
    const proxy = await startSshProxy({ agentSocket: agent.socket, dir: freshDir(), ...ids, mode: 0o600 });
    const c = createConnection(proxy.path);
    await new Promise<void>((r) => c.once("connect", () => r()));
    const closed = new Promise<void>((r) => c.once("close", () => r()));
    await proxy.close();
    await closed;
    expect(existsSync(proxy.path)).toBe(false);
    await proxy.close();
    expect((await agent.sshAdd(["-l"], proxy.path)).code).not.toBe(0);
  });

  it("works in a directory whose path is too long for a socket address", async () => {
    const dir = freshDir(`${"l".repeat(90)}/${"o".repeat(40)}`);
    const proxy = await startSshProxy({ agentSocket: agent.socket, dir, ...ids, mode: 0o600 });
    try {
      expect(proxy.path.length).toBeGreaterThan(108);
      expect(lstatSync(proxy.path).isSocket()).toBe(true);
      // A client cannot name the long path either: it connects through a short symlink.
      const replies = await talk(await shortLink(proxy.path), msg(11), 1);
      expect(replies[0]?.[0]).toBe(12);
    } finally {
      await proxy.close();
    }
  });

  it("a missing agent ends the client's connection (no hang)", async () => {
    const proxy = await startSshProxy({ agentSocket: join(base, "no-agent.sock"), dir: freshDir(), ...ids, mode: 0o600 });
    try {
      expect(await talk(proxy.path, msg(11), 1)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});

/** A short symlink to a long socket path (connect(2) follows it), for a client that cannot name the long path. */
async function shortLink(target: string): Promise<string> {
  const { symlinkSync } = await import("node:fs");
  const link = join(base, `s${n++}`);
  symlinkSync(target, link);
  return link;
}
