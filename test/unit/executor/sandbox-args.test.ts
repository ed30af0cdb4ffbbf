import { describe, expect, it } from "@jest/globals";
import { helperArgs } from "../../../src/executor/sandbox.js";
import type { ProcessSpec } from "../../../src/executor/index.js";

const base: ProcessSpec = { rootfs: "/r", mounts: [], args: ["true"], env: [], network: "host" };

describe("sandbox helper arguments", () => {
  it("adds resolv.conf and hosts, and orders mounts parents first (stable)", () => {
    const a = helperArgs(
      {
        ...base,
        hostname: "h1",
        mounts: [
          { type: "secret", source: "/s/tok", target: "/run/secrets/tok", mode: 0o440, uid: 1000, gid: 50 },
          { type: "tmpfs", target: "/run", size: 1024 },
          { type: "bind", source: "/cache", target: "/root/.cache", readonly: false },
        ],
      },
      "nameserver 10.0.0.1\n",
    );
    const targets = a.filter((_, i) => ["--bind", "--tmpfs", "--copy", "--write"].includes(a[i - 1] ?? "") || false);
    expect(a.slice(0, 7)).toEqual(["run", "--rootfs", "/r", "--status-fd", "3", "--hostname", "h1"]);
    const order = ["/run", "/etc/resolv.conf", "/etc/hosts", "/root/.cache", "/run/secrets/tok"].map((t) => a.indexOf(t));
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(a).toContain("nameserver 10.0.0.1\n");
    expect(a.join(" ")).toContain("--copy /s/tok /run/secrets/tok 288 1000 50");
    expect(a.slice(-2)).toEqual(["--", "true"]);
    expect(targets.length).toBeGreaterThan(0);
    expect(a).toContain("127.0.0.1\tlocalhost h1\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  });

  it("lets a declared mount replace /etc/hosts", () => {
    const a = helperArgs({ ...base, mounts: [{ type: "bind", source: "/h", target: "/etc/hosts", readonly: true }] }, "");
    expect(a.filter((x) => x === "/etc/hosts")).toHaveLength(1);
  });

  it("rejects relative paths and empty commands with TSB_EXECUTOR_SPEC", () => {
    expect(() => helperArgs({ ...base, rootfs: "r" }, "")).toThrow(expect.objectContaining({ code: "TSB_EXECUTOR_SPEC" }));
    expect(() => helperArgs({ ...base, args: [] }, "")).toThrow(expect.objectContaining({ code: "TSB_EXECUTOR_SPEC" }));
    expect(() => helperArgs({ ...base, cwd: "x" }, "")).toThrow(expect.objectContaining({ code: "TSB_EXECUTOR_SPEC" }));
  });
});
