/**
 * A real OpenSSH agent for tests: `ssh-agent -D` on a socket in a private temp dir, holding one fresh ed25519 key
 * (ssh-keygen, ssh-add) whose comment the tests look for. Debian package: openssh-client.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool } from "./base-images.js";

export interface TestSshAgent {
  readonly dir: string;
  /** The agent's socket (SSH_AUTH_SOCK). */
  readonly socket: string;
  /** The comment of the key the agent holds. */
  readonly comment: string;
  /** The private key file (also loaded in the agent). */
  readonly keyFile: string;
  /**
   * `ssh-add ARGS` against `socket` (or another agent socket). Asynchronous: a proxy served by this process must
   * keep running while ssh-add talks to it.
   */
  sshAdd(args: readonly string[], socket?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** Run a tool asynchronously (never blocks this process's event loop), with a 20 s limit. */
export function run(bin: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** Start an agent holding one new key with `comment`. */
export async function startSshAgent(comment = `tsbuild-test-key-${process.pid}`): Promise<TestSshAgent> {
  for (const t of ["ssh-agent", "ssh-add", "ssh-keygen"]) requireTool(t, "openssh-client");
  const dir = mkdtempSync(join(tmpdir(), "tsb-agent-"));
  const socket = join(dir, "agent.sock");
  const keyFile = join(dir, "id_ed25519");
  const keygen = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", keyFile], { encoding: "utf8" });
  if (keygen.status !== 0) throw new Error(`ssh-keygen failed: ${keygen.stderr}`);
  const child: ChildProcess = spawn("ssh-agent", ["-D", "-a", socket], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`ssh-agent did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const sshAdd = (args: readonly string[], sock = socket) => run("ssh-add", args, { SSH_AUTH_SOCK: sock });
  const added = await sshAdd([keyFile]);
  if (added.code !== 0) throw new Error(`ssh-add failed: ${added.stderr}`);
  return {
    dir,
    socket,
    comment,
    keyFile,
    sshAdd,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
