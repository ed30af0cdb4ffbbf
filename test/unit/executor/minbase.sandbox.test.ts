import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createSandbox } from "../../../src/executor/index.js";
import { minbaseRootfsTar, tempRootfs } from "../../helpers/base-images.js";
import { requireSession } from "../../helpers/session.js";

requireSession();
let root: { dir: string; remove: () => void };

beforeAll(async () => {
  root = tempRootfs(await minbaseRootfsTar());
}, 600_000);
afterAll(() => root?.remove());

describe("sandbox on Debian minbase", () => {
  it("runs apt-get update and install as root with the _apt user, keeping owners in the rootfs", async () => {
    const resolvBefore = readFileSync(join(root.dir, "etc/resolv.conf"), "utf8");
    expect(existsSync(join(root.dir, "etc/hosts"))).toBe(false);
    let log = "";
    const out = new PassThrough();
    out.on("data", (b: Buffer) => (log = (log + b.toString()).slice(-8000)));
    const r = await createSandbox().run(
      {
        rootfs: root.dir,
        mounts: [],
        args: ["sh", "-c", "apt-get update -q && apt-get install -y -q --no-install-recommends hello && hello && id _apt"],
        env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "HOME=/root"],
        network: "host",
      },
      { stdout: out, stderr: out },
    );
    expect({ exitCode: r.exitCode, log: r.exitCode === 0 ? "" : log }).toEqual({ exitCode: 0, log: "" });
    expect(log).toContain("Hello, world!");
    expect(log).toMatch(/uid=42\(_apt\)/);
    const owner = (p: string) => {
      const st = statSync(join(root.dir, p));
      return `${st.uid}:${st.gid}`;
    };
    expect(owner("usr/bin/hello")).toBe("0:0");
    expect(owner("var/lib/apt/lists/partial")).toBe("42:0");
    expect(owner("var/cache/apt/archives/partial")).toBe("42:0");
    expect(owner("var/log/apt/term.log")).toBe("0:4");
    expect(readFileSync(join(root.dir, "etc/resolv.conf"), "utf8")).toBe(resolvBefore);
    expect(existsSync(join(root.dir, "etc/hosts"))).toBe(false);
  }, 300_000);
});
