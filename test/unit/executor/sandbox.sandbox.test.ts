import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createSandbox, type ProcessSpec } from "../../../src/executor/index.js";
import { busyboxRootfsTar, tempRootfs } from "../../helpers/base-images.js";
import { requireSession } from "../../helpers/session.js";

requireSession();
const sandbox = createSandbox();
let root: { dir: string; remove: () => void };

beforeAll(async () => {
  root = tempRootfs(await busyboxRootfsTar());
});
afterAll(() => root?.remove());

async function run(args: string[], extra: Partial<ProcessSpec> = {}) {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = "";
  let stderr = "";
  out.on("data", (b: Buffer) => (stdout += b.toString()));
  err.on("data", (b: Buffer) => (stderr += b.toString()));
  const spec: ProcessSpec = { rootfs: root.dir, mounts: [], args, env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], network: "host", ...extra };
  const r = await sandbox.run(spec, { stdout: out, stderr: err });
  return { ...r, stdout, stderr };
}

describe("sandbox on busybox", () => {
  it("streams stdout and stderr and returns exit codes", async () => {
    const r = await run(["sh", "-c", "echo out; echo err >&2; exit 7"]);
    expect(r).toEqual({ exitCode: 7, stdout: "out\n", stderr: "err\n" });
    expect((await run(["true"])).exitCode).toBe(0);
    expect((await run(["sh", "-c", "kill -9 $$"])).exitCode).toBe(137);
  });

  it("passes exactly the given environment", async () => {
    const r = await run(["env"], { env: ["PATH=/usr/bin:/bin", "A=1 2", "B="] });
    expect(r.stdout.split("\n").filter(Boolean).sort()).toEqual(["A=1 2", "B=", "PATH=/usr/bin:/bin"]);
  });

  it("creates a missing cwd owned by the user and runs there", async () => {
    const r = await run(["sh", "-c", "pwd; touch f"], { cwd: "/work/sub", user: "app" });
    expect(r.stdout).toBe("/work/sub\n");
    for (const p of ["work", "work/sub", "work/sub/f"]) {
      const st = statSync(join(root.dir, p));
      expect([p, st.uid, st.gid]).toEqual([p, 1000, 1000]);
    }
  });

  it("honours setuid binaries for a non-root user, as runc under Docker (no_new_privs off)", async () => {
    // A static helper printing its real and effective uid, made setuid root inside the rootfs.
    const dir = mkdtempSync(join(tmpdir(), "tsb-setuid-"));
    try {
      writeFileSync(join(dir, "e.c"), '#include <stdio.h>\n#include <unistd.h>\nint main(void){printf("%d %d\\n",(int)getuid(),(int)geteuid());return 0;}\n');
      try {
        execFileSync("cc", ["-static", "-O2", "-o", join(root.dir, "bin", "euid"), join(dir, "e.c")], { stdio: "pipe" });
      } catch (e) {
        throw new Error(`cc -static failed (apt-get install gcc libc6-dev): ${(e as Error).message}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect((await run(["chmod", "4755", "/bin/euid"])).exitCode).toBe(0);
    expect((await run(["/bin/euid"], { user: "1000" })).stdout).toBe("1000 0\n");
    expect((await run(["grep", "NoNewPrivs", "/proc/self/status"], { user: "1000" })).stdout).toBe("NoNewPrivs:\t0\n");
  });

  it("resolves users by name with supplementary groups, and by id", async () => {
    expect((await run(["id"], { user: "app" })).stdout).toBe("uid=1000(app) gid=1000(app) groups=50(staff),100(users),1000(app)\n");
    expect((await run(["id"], { user: "1000:50" })).stdout).toBe("uid=1000(app) gid=50(staff) groups=50(staff)\n");
    expect((await run(["id"], { user: "nobody:users" })).stdout).toBe("uid=65534(nobody) gid=100(users) groups=100(users)\n");
    expect((await run(["id", "-u"], { user: "4242" })).stdout).toBe("4242\n");
    expect((await run(["id"])).stdout).toBe("uid=0(root) gid=0(root) groups=0(root)\n");
  });

  it("fails clearly for an unknown user or a missing executable", async () => {
    await expect(run(["true"], { user: "ghost" })).rejects.toMatchObject({ code: "TSB_EXECUTOR_USER", message: expect.stringContaining("ghost") });
    await expect(run(["no-such-cmd"])).rejects.toMatchObject({ code: "TSB_EXECUTOR_EXEC", message: expect.stringContaining("no-such-cmd") });
  });

  it("uses BuildKit's hostname and /etc/hosts by default (a RUN may record either in the image)", async () => {
    const r = await run(["sh", "-c", "hostname; cat /etc/hosts"]);
    expect(r.stdout).toBe("buildkitsandbox\n127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  });

  it("sets the hostname and provides hosts and resolv.conf without leaving them in the rootfs", async () => {
    const r = await run(["sh", "-c", "hostname; cat /etc/hosts; test -f /etc/resolv.conf && echo resolv"], { hostname: "box1" });
    expect(r.stdout).toMatch(/^box1\n/);
    expect(r.stdout).toContain("127.0.0.1\tlocalhost box1\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    expect(r.stdout).toContain("resolv");
    for (const p of ["etc/hosts", "etc/resolv.conf", "dev", "proc"]) expect(() => lstatSync(join(root.dir, p))).toThrow();
  });

  it("mounts tmpfs, read-only and read-write binds and secrets", async () => {
    const host = mkdtempSync(join(tmpdir(), "tsbuild-mnt-"));
    try {
      writeFileSync(join(host, "in"), "data\n");
      writeFileSync(join(host, "secret"), "s3cret\n");
      const r = await run(
        ["sh", "-c", "cat /ro/in; echo x > /ro/in || echo ro-denied; echo w > /rw/out; df /tmpfs | tail -1; stat -c '%a %u %g' /run/secrets/tok; cat /run/secrets/tok"],
        {
          mounts: [
            { type: "bind", source: host, target: "/ro", readonly: true },
            { type: "bind", source: host, target: "/rw", readonly: false },
            { type: "tmpfs", target: "/tmpfs", size: 1 << 20 },
            { type: "secret", source: join(host, "secret"), target: "/run/secrets/tok", mode: 0o440, uid: 1000, gid: 50 },
          ],
        },
      );
      expect(r.stdout).toContain("data\n");
      expect(r.stdout).toContain("ro-denied");
      expect(r.stdout).toMatch(/tmpfs\s+1024\s/);
      expect(r.stdout).toContain("440 1000 50\ns3cret\n");
      expect(readFileSync(join(host, "out"), "utf8")).toBe("w\n");
      for (const p of ["ro", "rw", "tmpfs", "run"]) expect(() => lstatSync(join(root.dir, p))).toThrow();
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  it("mounts the rootfs read-only on request", async () => {
    const r = await run(["sh", "-c", "touch /x 2>/dev/null && echo wrote || echo denied"], { readonlyRootfs: true });
    expect(r.stdout).toBe("denied\n");
  });

  it("gives a stub's parent its times back, unless the command changed that directory too", async () => {
    const etc = join(root.dir, "etc");
    utimesSync(etc, 1000, 1000);
    expect((await run(["true"])).exitCode).toBe(0);
    expect(statSync(etc).mtimeMs).toBe(1000 * 1000);
    // Sleep past the clock tick of the stub's creation, so the command's change has a time of its own.
    expect((await run(["sh", "-c", "sleep 1; echo x > /etc/made-by-run"])).exitCode).toBe(0);
    expect(statSync(etc).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
    rmSync(join(etc, "made-by-run"));
  });
});
