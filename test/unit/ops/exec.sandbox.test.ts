import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { requireSession } from "../../helpers/session.js";
import { startSshAgent } from "../../helpers/ssh-agent.js";
import { imageVertex, layerEntries, openOpsRoot, runVertex, solveVertex, type OpsRoot } from "./harness.js";

let root: OpsRoot;
beforeAll(async () => {
  requireSession();
  root = await openOpsRoot({ secrets: { tok: "s3cr3t-VALUE-42" } });
});
afterAll(async () => {
  await root?.close();
});

async function readInRef(ref: Parameters<OpsRoot["refs"]["view"]>[0], path: string): Promise<string> {
  const view = await root.refs.view(ref);
  try {
    return await readFile(join(view.path, path), "utf8");
  } finally {
    await view.release();
  }
}

describe("RUN through the solver", () => {
  it("streams output, commits the layer, and is fully cached the second time", async () => {
    const v = runVertex(imageVertex(), "echo hello; echo oops >&2; echo data > /out.txt");
    const first = await solveVertex(root, v);
    expect(first.logs).toContain("hello\n");
    expect(first.logs).toContain("oops\n");
    expect(first.events.some((e) => e.type === "vertex.log" && e.stream === 2)).toBe(true);
    expect(first.ref.layers).toHaveLength(2);
    expect(await readInRef(first.ref, "out.txt")).toBe("data\n");
    expect((await layerEntries(root, first.ref, 1)).names).toContain("out.txt");

    const second = await solveVertex(root, v);
    expect(second.vertices.find((o) => o.digest === v.digest)?.cached).toBe(true);
    expect(second.vertices.every((o) => o.cached)).toBe(true);
    expect(second.logs).toBe("");
    expect(second.ref).toEqual(first.ref);
  });

  it("fails with TSB_EXEC_FAILED, the exit code and the command", async () => {
    const v = runVertex(imageVertex(), "echo before; exit 3");
    const err = await solveVertex(root, v).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string; exitCode?: number; cause?: { exitCode: number; command: string[] } },
    );
    expect(err?.code).toBe("TSB_EXEC_FAILED");
    expect(err?.message).toBe('process "/bin/sh -c echo before; exit 3" did not complete successfully: exit code: 3');
    // The solver may wrap the ExecError in a VertexError (keeping code and message) or pass it through.
    const exec = (err?.exitCode !== undefined ? err : err?.cause) as { exitCode: number; command: string[] };
    expect(exec.exitCode).toBe(3);
    expect(exec.command).toEqual(["/bin/sh", "-c", "echo before; exit 3"]);
    // Nothing is left mounted or active.
    expect((await root.snap.list()).filter((s) => s.kind !== "committed")).toEqual([]);
  });

  it("sets a default PATH and passes env, user and cwd", async () => {
    const v = runVertex(imageVertex(), 'echo "$PATH|$A|$(id -u)|$(pwd)"', { env: ["A=1"], user: "nobody" });
    const r = await solveVertex(root, v);
    expect(r.logs).toBe("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|1|65534|/\n");
  });

  it("sets HOME from /etc/passwd like runc when the environment has none", async () => {
    const r = await solveVertex(root, runVertex(imageVertex(), 'echo "$HOME" > /tmp/h', { user: "" }));
    expect(await readInRef(r.ref, "tmp/h")).toBe("/root\n");
    const u = await solveVertex(root, runVertex(imageVertex(), 'echo "$HOME"', { user: "nobody" }));
    expect(u.logs).toBe("/nonexistent\n");
  });
});

describe("RUN mounts", () => {
  it("keeps cache mounts across solves and their contents out of the layer", async () => {
    const cache = { type: "cache", dest: "/var/cache/app", input: null, readonly: false, cache: { id: "app-cache", sharing: "shared" } } as const;
    const a = await solveVertex(root, runVertex(imageVertex(), "echo one >> /var/cache/app/log; touch /made", { mounts: [cache] }));
    const b = await solveVertex(root, runVertex(imageVertex(), "echo two >> /var/cache/app/log; cat /var/cache/app/log", { mounts: [cache] }));
    expect(b.logs).toBe("one\ntwo\n");
    for (const ref of [a.ref, b.ref]) {
      const names = (await layerEntries(root, ref, 1)).names;
      expect(names.filter((n) => n.startsWith("var/cache/app/"))).toEqual(["var/cache/app/"]);
    }
    // Docker 20.10 keeps the mount point it had to create (and its parents), never what was written under it.
    expect((await layerEntries(root, a.ref, 1)).names).toContain("made");
    const locked = { ...cache, cache: { id: "app-cache", sharing: "locked" } } as const;
    const c = await solveVertex(root, runVertex(imageVertex(), "cat /var/cache/app/log | wc -l", { mounts: [locked] }));
    expect(c.logs.trim()).toBe("2");
  });

  it("keeps tmpfs contents out of the layer", async () => {
    const r = await solveVertex(
      root,
      runVertex(imageVertex(), "echo x > /scratch/f && grep -q ' /scratch tmpfs' /proc/mounts && echo y > /kept", { mounts: [{ type: "tmpfs", dest: "/scratch", size: 0 }] }),
    );
    const names = (await layerEntries(root, r.ref, 1)).names;
    expect(names).toContain("kept");
    expect(names.filter((n) => n.startsWith("scratch"))).toEqual(["scratch/"]);
  });

  it("exposes a secret inside only: not in the layer, the cache key, the logs or the root's tmp", async () => {
    const secret = { type: "secret", dest: "/run/secrets/tok", secret: { id: "tok", required: true, mode: 0o400, uid: 0, gid: 0, env: "TOK" } } as const;
    // The command compares checksums so that it never holds the value itself.
    const sum = createHash("md5").update("s3cr3t-VALUE-42").digest("hex");
    const check = `test "$(md5sum < /run/secrets/tok | cut -c1-32)" = ${sum} && test "$(printf %s "$TOK" | md5sum | cut -c1-32)" = ${sum}`;
    const v = runVertex(imageVertex(), `${check} && ls -l /run/secrets/tok && echo ok > /result`, { mounts: [secret] });
    const r = await solveVertex(root, v);
    const { names, bytes } = await layerEntries(root, r.ref, 1);
    expect(names).toContain("result");
    expect(r.logs).toMatch(/^-r--------\s+1 root\s+root\s+15 /);
    // The mount point's directories stay (Docker 20.10), the stub file does not.
    expect(names.filter((n) => n.startsWith("run"))).toEqual(["run/", "run/secrets/"]);
    expect(bytes.includes("s3cr3t-VALUE")).toBe(false);
    const outcome = r.vertices.find((o) => o.digest === v.digest)!;
    expect(JSON.stringify(outcome)).not.toContain("s3cr3t");
    expect(JSON.stringify(v)).not.toContain("s3cr3t");
    expect(r.logs).not.toContain("s3cr3t");
    expect(JSON.stringify(r.events.filter((e) => e.type !== "vertex.log"))).not.toContain("s3cr3t");
    expect((await readdir(root.layout.tmp).catch(() => [])).filter((n) => n.startsWith("secret-"))).toEqual([]);

    const missing = runVertex(imageVertex(), "true", { mounts: [{ ...secret, secret: { ...secret.secret, id: "nope" } }] });
    await expect(solveVertex(root, missing)).rejects.toMatchObject({ code: "TSB_OPS_SECRET_MISSING" });
    const optional = runVertex(imageVertex(), "test ! -e /run/secrets/nope", { mounts: [{ type: "secret", dest: "/run/secrets/nope", secret: { id: "nope", required: false, mode: 0o400, uid: 0, gid: 0 } }] });
    await expect(solveVertex(root, optional)).resolves.toBeDefined();
  });

  it("ssh mounts: a required one without a forwarded agent fails as BuildKit's, an optional one is left out", async () => {
    const ssh = { type: "ssh", dest: "/run/ssh", ssh: { id: "default", required: true, mode: 0o600, uid: 0, gid: 0 } } as const;
    await expect(solveVertex(root, runVertex(imageVertex(), "true", { mounts: [ssh] }))).rejects.toMatchObject({
      code: "TSB_OPS_SSH_MISSING",
      message: 'no SSH key "default" forwarded from the client',
      hint: expect.stringContaining("--ssh default"),
    });
    const optional = await solveVertex(root, runVertex(imageVertex(), "test ! -e /run/ssh", { mounts: [{ ...ssh, ssh: { ...ssh.ssh, required: false } }] }));
    expect((await layerEntries(root, optional.ref, 1)).names.filter((n) => n.startsWith("run/"))).toEqual([]);
  });

  it("ssh mounts: the agent's proxy socket is at the target with the mount's owner and mode, and leaves no trace", async () => {
    const agent = await startSshAgent();
    try {
      const forwarded = { ssh: new Map([["gh", { id: "gh", socket: agent.socket }]]) };
      const ssh = { type: "ssh", dest: "/run/buildkit/ssh_agent.0", ssh: { id: "gh", required: true, mode: 0o640, uid: 1000, gid: 1001 } } as const;
      const tmpBefore = await readdir(root.layout.tmp).catch(() => []);
      const r = await solveVertex(root, runVertex(imageVertex(), 'stat -c "%u:%g %a %F" /run/buildkit/ssh_agent.0 > /ssh.txt', { mounts: [ssh] }), forwarded);
      expect(await readInRef(r.ref, "ssh.txt")).toBe("1000:1001 640 socket\n");
      // The mount point's directories stay in the layer (as a secret's do); the socket and its stub never do.
      const names = (await layerEntries(root, r.ref, 1)).names;
      expect(names).toContain("run/buildkit/");
      expect(names.filter((n) => n.includes("ssh_agent"))).toEqual([]);
      expect(await readdir(root.layout.tmp).catch(() => [])).toEqual(tmpBefore);
      // A failing run removes the proxy too.
      await expect(solveVertex(root, runVertex(imageVertex(), "test -S /run/buildkit/ssh_agent.0 && exit 3", { mounts: [ssh] }), forwarded)).rejects.toThrow(/exit code: 3/);
      expect(await readdir(root.layout.tmp).catch(() => [])).toEqual(tmpBefore);
    } finally {
      await agent.stop();
    }
  });
});

describe("RUN network", () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((s) => s.end("pong\n"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it("reaches the host network by default and nothing with network=none", async () => {
    const cmd = `nc 127.0.0.1 ${port} < /dev/null`;
    const host = await solveVertex(root, runVertex(imageVertex(), cmd));
    expect(host.logs).toContain("pong");
    const none = solveVertex(root, runVertex(imageVertex(), cmd, { network: "none" }));
    await expect(none).rejects.toMatchObject({ code: "TSB_EXEC_FAILED" });
    const lo = await solveVertex(root, runVertex(imageVertex(), "tail -n +3 /proc/net/dev | cut -d: -f1", { network: "none" }));
    expect(lo.logs.trim()).toBe("lo");
  });
});
