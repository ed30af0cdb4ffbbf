import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdir, mkdtemp, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { needsEtcStubs, passwdHome, touchEtc, withDefaultHome } from "../../../src/ops/exec-home.js";

let tmp: string;
let rootfs: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tsb-exec-home-"));
  rootfs = join(tmp, "rootfs");
  await mkdir(join(rootfs, "etc"), { recursive: true });
  await writeFile(join(rootfs, "etc/passwd"), "# comment\nroot:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnohome:x:7:7:::/bin/false\n");
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("runc's default HOME", () => {
  it("comes from the passwd entry of the user, by name or uid", async () => {
    expect(await passwdHome(rootfs, "")).toBe("/root");
    expect(await passwdHome(rootfs, "0:0")).toBe("/root");
    expect(await passwdHome(rootfs, "app")).toBe("/home/app");
    expect(await passwdHome(rootfs, "1000:50")).toBe("/home/app");
    expect(await passwdHome(rootfs, "app:staff")).toBe("/home/app");
  });

  it("is / without an entry, with an empty home field, or without /etc/passwd", async () => {
    expect(await passwdHome(rootfs, "1234")).toBe("/");
    expect(await passwdHome(rootfs, "7")).toBe("/");
    expect(await passwdHome(join(tmp, "missing"), "0")).toBe("/");
  });

  it("is only added when the environment sets none", async () => {
    expect(await withDefaultHome(["PATH=/bin"], rootfs, "app")).toEqual(["PATH=/bin", "HOME=/home/app"]);
    expect(await withDefaultHome(["HOME=/custom"], rootfs, "app")).toEqual(["HOME=/custom"]);
  });
});

describe("/etc mount-point stubs", () => {
  it("are needed when /etc lacks hosts or resolv.conf, and touching /etc sets its mtime only", async () => {
    expect(await needsEtcStubs(rootfs)).toBe(true);
    await utimes(join(rootfs, "etc"), 0, 0);
    const when = new Date(1_700_000_000_000);
    await touchEtc(rootfs, when);
    const st = await stat(join(rootfs, "etc"));
    expect(st.mtimeMs).toBe(when.getTime());
    expect(st.atimeMs).toBe(0);
  });

  it("are not needed when both exist, nor when /etc is missing or a symlink", async () => {
    const full = join(tmp, "full");
    await mkdir(join(full, "etc"), { recursive: true });
    await writeFile(join(full, "etc/hosts"), "");
    await symlink("/proc/self/resolv", join(full, "etc/resolv.conf"));
    expect(await needsEtcStubs(full)).toBe(false);
    expect(await needsEtcStubs(join(tmp, "none"))).toBe(false);
    const linked = join(tmp, "linked");
    await mkdir(linked);
    await symlink("/etc", join(linked, "etc"));
    expect(await needsEtcStubs(linked)).toBe(false);
    await touchEtc(linked);
  });
});
