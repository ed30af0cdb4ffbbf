import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createSandbox, type ProcessSpec } from "../../../src/executor/index.js";
import { busyboxRootfsTar, tempRootfs } from "../../helpers/base-images.js";
import { requireSession } from "../../helpers/session.js";

requireSession();
const sandbox = createSandbox();
let root: { dir: string; remove: () => void };
let hostDir: string;

beforeAll(async () => {
  root = tempRootfs(await busyboxRootfsTar());
  hostDir = mkdtempSync(join(tmpdir(), "tsbuild-host-"));
  writeFileSync(join(hostDir, "marker"), "host\n");
});
afterAll(() => {
  root?.remove();
  rmSync(hostDir, { recursive: true, force: true });
});

async function run(script: string, extra: Partial<ProcessSpec> = {}, signal?: AbortSignal) {
  const out = new PassThrough();
  let stdout = "";
  out.on("data", (b: Buffer) => (stdout += b.toString()));
  const spec: ProcessSpec = { rootfs: root.dir, mounts: [], args: ["sh", "-c", script], env: ["PATH=/usr/bin:/bin"], network: "host", ...extra };
  const r = await sandbox.run(spec, { stdout: out, stderr: out, signal });
  return { ...r, stdout };
}

function processesWith(token: string): number[] {
  const found: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").includes(token)) found.push(Number(p));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((s) => s.end("hello-from-host\n"));
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

describe("sandbox isolation", () => {
  it("shows only the container's processes", async () => {
    const r = await run("ps -o pid,comm; ls /proc | grep -c '^[0-9]'");
    expect(r.stdout).not.toMatch(/node|jest/);
    const count = Number(r.stdout.trim().split("\n").pop());
    expect(count).toBeLessThanOrEqual(4);
    expect(r.stdout).toMatch(/^\s*1 /m);
  });

  it("cannot see or write host paths outside the rootfs and declared mounts", async () => {
    const r = await run(`cat ${hostDir}/marker; echo x > ${hostDir}/pwned; ls /; echo pwned > /pwned-root; echo done`);
    expect(r.stdout).not.toContain("host\n");
    expect(r.stdout).toContain("done");
    expect(existsSync(join(hostDir, "pwned"))).toBe(false);
    expect(existsSync("/pwned-root")).toBe(false);
    expect(readFileSync(join(root.dir, "pwned-root"), "utf8")).toBe("pwned\n");
    rmSync(join(root.dir, "pwned-root"));
  });

  it("cannot see host mounts", async () => {
    const r = await run("cat /proc/mounts");
    const points = r.stdout.trim().split("\n").map((l) => l.split(" ")[1]!);
    const allowed = /^\/(dev(\/(null|zero|full|random|urandom|tty|pts|shm))?|proc|etc\/(hosts|resolv\.conf))?$/;
    expect(points.filter((p) => !allowed.test(p))).toEqual([]);
    expect(r.stdout).not.toContain(root.dir);
  });

  it("with network none has only loopback and cannot reach the host's 127.0.0.1", async () => {
    const { server, port } = await listen();
    try {
      const host = await run(`wget -q -T 2 -O - http://127.0.0.1:${port}/ 2>&1; nc 127.0.0.1 ${port} </dev/null`);
      expect(host.stdout).toContain("hello-from-host");
      const none = await run(`ip -o link | cut -d: -f2; nc -w 2 127.0.0.1 ${port} </dev/null && echo connected; ip route; echo end`, { network: "none" });
      expect(none.stdout.trim().split("\n")[0]!.trim()).toBe("lo");
      expect(none.stdout).not.toContain("hello-from-host");
      expect(none.stdout).not.toContain("connected");
      expect(none.stdout).not.toContain("default");
    } finally {
      server.close();
    }
  });

  it("abort kills the whole process tree within a second and leaves nothing behind", async () => {
    // Other test files may mount and create temp dirs concurrently: look only at what this run could leave.
    const ours = () => readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(root.dir) || l.includes("tsbuild-files"));
    const rootBefore = readdirSync(root.dir).sort();
    const ac = new AbortController();
    const started = run("sleep 987654 & sleep 987654 & (sleep 987654 &) ; echo started; wait", { network: "none" }, ac.signal);
    for (let i = 0; i < 100 && processesWith("987654").length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(processesWith("987654").length).toBe(3);
    const t0 = Date.now();
    ac.abort(new Error("stop"));
    await expect(started).rejects.toThrow("stop");
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(processesWith("987654")).toEqual([]);
    expect(ours()).toEqual([]);
    expect(readdirSync(root.dir).sort()).toEqual(rootBefore);
    for (const p of ["dev", "proc", "etc/hosts", "etc/resolv.conf"]) expect(existsSync(join(root.dir, p))).toBe(false);
  });

  it("reaps orphans as PID 1 (no zombies)", async () => {
    const r = await run("(sh -c 'sleep 0.1 &' ); sleep 0.4; ps -o stat,comm | grep -c '^Z' || true");
    expect(r.stdout.trim()).toBe("0");
  });
});
