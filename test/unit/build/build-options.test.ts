import { describe, expect, it } from "@jest/globals";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:net";
import { parseBuildContext, parseCsvFields, parseExtraHost, parseLabels, parseSecret, parseSsh } from "../../../src/build-options.js";

describe("build options", () => {
  it("splits buildx CSV fields with quotes", () => {
    expect([...parseCsvFields('id=a,src="x,y",required', "--secret")]).toEqual([
      ["id", "a"],
      ["src", "x,y"],
      ["required", ""],
    ]);
  });

  it("reads secrets from files and environment variables, lazily", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsb-secret-"));
    writeFileSync(join(dir, "tok"), "s3cr3t");
    expect((await parseSecret("id=a,src=tok", {}, dir).read()).toString()).toBe("s3cr3t");
    expect((await parseSecret("id=a,env=TOKEN", { TOKEN: "v" }).read()).toString()).toBe("v");
    // id alone: an environment variable of that name wins, else a file of that name.
    expect((await parseSecret("id=GH", { GH: "envval" }, dir).read()).toString()).toBe("envval");
    expect((await parseSecret("id=tok", {}, dir).read()).toString()).toBe("s3cr3t");
    await expect(parseSecret("id=a,env=MISSING", {}).read()).rejects.toThrow(/MISSING is not set/);
    await expect(parseSecret("id=a,src=nope", {}, dir).read()).rejects.toThrow(/cannot read/);
  });

  it("rejects malformed secrets without echoing values", () => {
    expect(() => parseSecret("src=x", {})).toThrow(/id is required/);
    expect(() => parseSecret("id=a,bogus=1", {})).toThrow(/unknown field "bogus"/);
  });

  it("parses named build contexts", () => {
    expect(parseBuildContext("lib=./vendor", "/w")).toEqual({ kind: "local", name: "lib", dir: "/w/vendor" });
    expect(parseBuildContext("base=docker-image://alpine:3")).toEqual({ kind: "image", name: "base", ref: "alpine:3" });
    expect(parseBuildContext("x=oci-layout:///l:v1")).toEqual({ kind: "oci-layout", name: "x", dir: "/l", tag: "v1" });
    const d = `sha256:${"a".repeat(64)}`;
    expect(parseBuildContext(`x=oci-layout:///l@${d}`)).toEqual({ kind: "oci-layout", name: "x", dir: "/l", digest: d });
    expect(() => parseBuildContext("x=oci-layout:///l@sha256:zz")).toThrow(/invalid digest/);
    expect(() => parseBuildContext("x=docker-image://")).toThrow(/needs an image reference/);
    // A git URL never gets here (the CLI clones it first): parsed alone, it is an unsupported source.
    expect(() => parseBuildContext("x=git://repo")).toThrow(/unsupported source/);
    expect(parseBuildContext("tools=https://example.com/t.sh")).toEqual({ kind: "http", name: "tools", url: "https://example.com/t.sh" });
    expect(parseBuildContext("t=HTTP://h/x")).toEqual({ kind: "http", name: "t", url: "HTTP://h/x" });
    expect(() => parseBuildContext("noequals")).toThrow(/invalid --build-context/);
  });

  it("parses labels", () => {
    expect(parseLabels(["a=1", "b=x=y"])).toEqual({ a: "1", b: "x=y" });
    expect(() => parseLabels(["=v"])).toThrow(/invalid --label/);
  });
});

describe("--add-host", () => {
  it("takes NAME:IP and NAME=IP (IPv6), maps host-gateway to the host, and refuses anything else", () => {
    expect(parseExtraHost("db:10.0.0.5")).toEqual({ host: "db", ip: "10.0.0.5" });
    expect(parseExtraHost("v6=::1")).toEqual({ host: "v6", ip: "::1" });
    expect(parseExtraHost("v6b=[fe80::1]")).toEqual({ host: "v6b", ip: "fe80::1" });
    expect(parseExtraHost("v6c:::1")).toEqual({ host: "v6c", ip: "::1" });
    expect(parseExtraHost("host.docker.internal:host-gateway")).toEqual({ host: "host.docker.internal", ip: "127.0.0.1" });
    for (const bad of ["db", "db:", ":10.0.0.1", "db:not-an-ip", "a b:10.0.0.1", "db:10.0.0.256"]) {
      expect(() => parseExtraHost(bad)).toThrow(/invalid --add-host/);
    }
  });

  it("--ssh takes default|ID[=SOCKET] agent sockets, refuses key files and a missing agent clearly", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsb-ssh-"));
    const listen = (p: string): Promise<Server> => new Promise((r) => { const s = createServer(); s.listen(p, () => r(s)); });
    const servers = [await listen(join(dir, "agent.sock")), await listen(join(dir, "other.sock"))];
    try {
      const env = { SSH_AUTH_SOCK: join(dir, "agent.sock") };
      expect(parseSsh(["default"], env)).toEqual([{ id: "default", socket: join(dir, "agent.sock") }]);
      expect(parseSsh(["gh=other.sock", "default"], env, dir)).toEqual([
        { id: "gh", socket: join(dir, "other.sock") },
        { id: "default", socket: join(dir, "agent.sock") },
      ]);
      expect(parseSsh([], {})).toEqual([]);
      // No agent: exit 1 (TSB_SSH_AGENT) with a hint; the variable's value is never shown.
      expect(() => parseSsh(["default"], {})).toThrow(expect.objectContaining({ code: "TSB_SSH_AGENT", message: expect.stringContaining("SSH_AUTH_SOCK is not set"), hint: expect.stringContaining("ssh-agent") }));
      const gone = { SSH_AUTH_SOCK: join(dir, "secret-gone-path.sock") };
      let err: unknown;
      try {
        parseSsh(["default"], gone);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: "TSB_SSH_AGENT", message: "--ssh default: cannot use $SSH_AUTH_SOCK (no such file)" });
      expect(JSON.stringify({ m: (err as Error).message, h: (err as { hint: string }).hint })).not.toContain("secret-gone-path");
      // A key file: refused, naming the file as typed and how to put it in an agent.
      writeFileSync(join(dir, "id_ed25519"), "-----BEGIN OPENSSH PRIVATE KEY-----\n");
      expect(() => parseSsh(["default=id_ed25519"], env, dir)).toThrow(
        expect.objectContaining({ code: "TSB_SSH_AGENT", message: expect.stringContaining("id_ed25519 is a file, not an agent socket"), hint: expect.stringContaining("ssh-add id_ed25519") }),
      );
      expect(() => parseSsh(["default=."], env, dir)).toThrow(/is not an ssh agent socket/);
      for (const bad of ["", "=x", "a b", "default="]) expect(() => parseSsh([bad], env, dir)).toThrow(expect.objectContaining({ code: "TSB_USAGE" }));
      expect(() => parseSsh(["default", "default"], env)).toThrow(/given twice/);
      expect(() => parseSsh(["x=agent.sock,other.sock"], env, dir)).toThrow(/only one agent socket per id/);
    } finally {
      for (const s of servers) s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
