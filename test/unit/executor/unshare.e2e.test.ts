import { describe, expect, it } from "@jest/globals";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../../..");
const cli = join(repo, "bin/tsbuild.js");
if (!existsSync(join(repo, "dist/cli.js"))) throw new Error("dist/cli.js is missing: run `node scripts/bundle.mjs` (npm test does)");

function tsbuild(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, TSBUILD_SESSION: "" } });
}

/** Pids of `sleep TOKEN` processes (not of the tsbuild processes whose argv also holds the token). */
function pidsWith(token: string): number[] {
  return readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
      return argv[0] === "sleep" && argv[1] === token;
    } catch {
      return false;
    }
  }).map(Number);
}

describe("tsbuild unshare", () => {
  it("runs the command as uid 0 of a session with the user's subordinate ids and forwards the exit code", () => {
    const r = tsbuild(["unshare", "--", "sh", "-c", "id -u; echo $TSBUILD_SESSION; cat /proc/self/uid_map; exit 3"]);
    expect(r.status).toBe(3);
    const [uid, marker, ...map] = r.stdout.trim().split("\n");
    expect([uid, marker]).toEqual(["0", "1"]);
    const ids = map.map((l) => Number(l.trim().split(/\s+/)[2])).reduce((a, b) => a + b, 0);
    if (process.getuid?.() === 0) expect(map[0]!.trim().split(/\s+/)).toEqual(["0", "0", "4294967295"]);
    else expect(ids).toBe(65536);
  });

  it("gives the session a private mount namespace", () => {
    const r = tsbuild(["unshare", "--", "readlink", "/proc/self/ns/mnt"]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).not.toBe(spawnSync("readlink", ["/proc/self/ns/mnt"], { encoding: "utf8" }).stdout.trim());
  });

  it("forwards SIGTERM and dies with its parent (kill -9 leaves no session behind)", async () => {
    const token = String(900000 + (process.pid % 90000));
    const p = spawn(process.execPath, [cli, "unshare", "--", "sleep", token], { stdio: "ignore", env: { ...process.env, TSBUILD_SESSION: "" } });
    for (let i = 0; i < 100 && pidsWith(token).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(pidsWith(token)).toHaveLength(1);
    const exited = new Promise<number | null>((r) => p.once("exit", (c) => r(c)));
    p.kill("SIGTERM");
    expect(await exited).toBe(143);

    const q = spawn(process.execPath, [cli, "unshare", "--", "sleep", token], { stdio: "ignore", env: { ...process.env, TSBUILD_SESSION: "" } });
    for (let i = 0; i < 100 && pidsWith(token).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(pidsWith(token)).toHaveLength(1);
    q.kill("SIGKILL");
    for (let i = 0; i < 50 && pidsWith(token).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(pidsWith(token)).toEqual([]);
  });
});
