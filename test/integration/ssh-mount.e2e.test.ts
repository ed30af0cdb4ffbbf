/**
 * RUN --mount=type=ssh as `docker buildx build --ssh default` does it, with a real ssh-agent (openssh-client) and
 * the Debian minbase, whose perl asks the agent for its keys over the mounted socket: the key's comment reaches
 * the RUN, the socket has the mount's owner and mode, SSH_AUTH_SOCK points at it, nothing of it is in the layer or
 * left in the root, and a required mount without --ssh fails with BuildKit's message.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { E2eWorld, layerBytes, ok, treeBytes } from "../helpers/e2e.js";
import { startSshAgent, type TestSshAgent } from "../helpers/ssh-agent.js";

/** SSH_AGENTC_REQUEST_IDENTITIES (11) → the comments of the answer (12); then a refused remove-all (19 → 5). */
const AGENT_PL = String.raw`use strict; use Socket;
socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!";
connect($s, pack_sockaddr_un($ENV{SSH_AUTH_SOCK})) or die "connect: $!";
sub rd { my $n = shift; my $b = ""; while (length($b) < $n) { sysread($s, $b, $n - length($b), length($b)) or die "short read"; } $b }
sub ask { syswrite($s, pack("NC", 1, shift)); my $len = unpack("N", rd(4)); rd($len) }
my $m = ask(11);
my ($type, $n) = unpack("CN", $m);
die "answer type $type" unless $type == 12;
my $off = 5;
for (1 .. $n) { my $l = unpack("N", substr($m, $off, 4)); $off += 4 + $l; $l = unpack("N", substr($m, $off, 4)); print "key: ", substr($m, $off + 4, $l), "\n"; $off += 4 + $l; }
print "remove-all: ", unpack("C", ask(19)), "\n";
`;

/** The entry names of each layer of an OCI layout directory (GNU tar detects the compression). */
function layerNames(dir: string): string[][] {
  const blob = (d: string): string => join(dir, "blobs", ...d.split(":"));
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), "utf8"));
  return manifest.layers.map((l: { digest: string }) => execFileSync("tar", ["-tf", blob(l.digest)], { encoding: "utf8" }).split("\n").filter(Boolean));
}

describe("RUN --mount=type=ssh with --ssh", () => {
  let world: E2eWorld;
  let agent: TestSshAgent;
  let ctx: string;

  beforeAll(async () => {
    world = await E2eWorld.start([]);
    await world.importBase("debian", "debian:bookworm");
    agent = await startSshAgent();
    ctx = world.tmp("ssh-ctx-");
    writeFileSync(join(ctx, "agent.pl"), AGENT_PL);
    writeFileSync(
      join(ctx, "Dockerfile"),
      [
        "FROM debian:bookworm",
        "COPY agent.pl /agent.pl",
        "USER 1000:1000",
        "RUN --mount=type=ssh,uid=1000,gid=1000,mode=0660 echo \"sock=$SSH_AUTH_SOCK\" > /tmp/ssh.out && stat -c '%u:%g %a %F' \"$SSH_AUTH_SOCK\" >> /tmp/ssh.out && perl /agent.pl >> /tmp/ssh.out",
        "",
      ].join("\n"),
    );
    mkdirSync(join(ctx, "req"));
    writeFileSync(join(ctx, "req", "Dockerfile"), "FROM debian:bookworm\nRUN --mount=type=ssh,required=true echo should-not-run\n");
    mkdirSync(join(ctx, "opt"));
    writeFileSync(join(ctx, "opt", "Dockerfile"), "FROM debian:bookworm\nRUN --mount=type=ssh,required=false echo \"sock=$SSH_AUTH_SOCK\" > /opt.out && test ! -e \"$SSH_AUTH_SOCK\"\n");
  }, 300_000);
  afterAll(async () => {
    await agent?.stop();
    await world?.stop();
  });

  it("forwards the agent: the key reaches the RUN through a socket with the mount's owner and mode, read-only", async () => {
    const out = world.tmp("ssh-out-");
    const oci = join(world.tmp("ssh-oci-"), "img.tar");
    const r = await world.run(["build", "--progress=plain", "--ssh", "default", "-o", `type=local,dest=${out}`, "-o", `type=oci,dest=${oci}`, ctx], {
      env: { SSH_AUTH_SOCK: agent.socket },
    });
    ok(r);
    expect(readFileSync(join(out, "tmp", "ssh.out"), "utf8")).toBe(
      `sock=/run/buildkit/ssh_agent.0\n1000:1000 660 socket\nkey: ${agent.comment}\nremove-all: 5\n`,
    );
    // The agent still holds its key (the RUN could not remove it).
    expect((await agent.sshAdd(["-l"])).stdout).toContain(agent.comment);
    // The mount point's directory stays in the layer, as a secret's; the socket (or a stub of it) never does.
    const layout = world.tmp("ssh-layout-");
    execFileSync("tar", ["-xf", oci, "-C", layout]);
    const last = layerNames(layout).at(-1)!;
    expect(last.map((n) => n.replace(/^\.\//, ""))).toContain("run/buildkit/");
    expect(last.filter((n) => n.includes("ssh_agent") || n.includes("ssh_auth_sock"))).toEqual([]);
    const layers = layerBytes(layout);
    expect(readdirSync(join(out, "run", "buildkit"))).toEqual([]);
    // The agent's path is in no log, layer or config; nothing is left in the root's temp space.
    expect(r.stderr).not.toContain(agent.dir);
    expect(layers.includes(agent.dir)).toBe(false);
    expect(treeBytes(join(world.root, "logs")).includes(agent.dir)).toBe(false);
    expect(readdirSync(join(world.root, "tmp")).filter((n) => !n.startsWith("."))).toEqual([]);
  });

  it("a required ssh mount without --ssh fails as BuildKit's; an optional one builds with SSH_AUTH_SOCK set and no socket", async () => {
    const req = await world.run(["build", "--progress=plain", join(ctx, "req")]);
    expect(req.code).toBe(1);
    expect(req.stderr).toContain('no SSH key "default" forwarded from the client');
    expect(req.stderr).toContain("--ssh default");
    expect(req.stderr).not.toMatch(/#\d+ [\d.]+ should-not-run/);
    const out = world.tmp("opt-out-");
    ok(await world.run(["build", "-q", "-o", `type=local,dest=${out}`, join(ctx, "opt")]));
    expect(readFileSync(join(out, "opt.out"), "utf8")).toBe("sock=/run/buildkit/ssh_agent.0\n");
  });

  it("--ssh default without an agent, or with a key file, is a clear error (exit 1) before anything runs", async () => {
    const none = await world.run(["build", "--ssh", "default", join(ctx, "opt")], { env: { SSH_AUTH_SOCK: "" } });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/--ssh default: SSH_AUTH_SOCK is not set/);
    expect(none.stderr).toMatch(/hint: .*ssh-agent/);
    const key = await world.run(["build", "--ssh", `default=${agent.keyFile}`, join(ctx, "opt")]);
    expect(key.code).toBe(1);
    expect(key.stderr).toContain(`${agent.keyFile} is a file, not an agent socket`);
    expect(key.stderr).toContain(`ssh-add ${agent.keyFile}`);
  });
});
