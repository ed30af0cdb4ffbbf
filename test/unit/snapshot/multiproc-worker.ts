/**
 * A separate tsbuild-like process using a shared snapshot root (bundled by multiproc.sandbox.test.ts).
 * argv: root driver worker-id mode rounds
 *   race:  per round, prepare on "base", write a file, commit under the round's shared name (one process wins,
 *          the others get TSB_SNAPSHOT_EXISTS and remove theirs), plus a private prepare/commit/remove cycle.
 *   loop:  prepare/mount/write/commit/remove forever (the test kills it with SIGKILL at random moments).
 *   hold:  prepare "held-<id>" with a file in it, print "held", then wait (the test checks it survives reaping).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createSnapshotter } from "../../../src/snapshot/index.js";

const [root, driver, id, mode, rounds] = process.argv.slice(2) as [string, "overlay" | "copy", string, string, string];
const s = await createSnapshotter(root, { driver });
const result = { won: [] as string[], lost: [] as string[] };

async function write(key: string, name: string, content: string): Promise<void> {
  writeFileSync(join(await s.mount(key), name), content);
  await s.unmount(key);
}

if (mode === "race") {
  for (let i = 0; i < Number(rounds); i++) {
    const key = `w${id}-a${i}`;
    await s.prepare(key, "base");
    await write(key, "f", `shared-${i}\n`);
    try {
      await s.commit(key, `shared-${i}`);
      result.won.push(`shared-${i}`);
    } catch (e) {
      if ((e as { code?: string }).code !== "TSB_SNAPSHOT_EXISTS") throw e;
      result.lost.push(`shared-${i}`);
      await s.remove(key);
    }
    const own = `w${id}-t${i}`;
    await s.prepare(own, i % 2 ? "base" : undefined);
    await write(own, `own-${id}`, "x");
    await s.commit(own, `w${id}-c${i}`);
    await s.remove(`w${id}-c${i}`);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await s.close();
} else if (mode === "loop") {
  process.stdout.write("ready\n");
  for (let i = 0; ; i++) {
    const key = `loop${id}-${i}`;
    await s.prepare(key, "base");
    await write(key, `n${i % 7}`, `${i}`);
    await s.commit(key, `loop${id}-c${i}`);
    if (i % 3 !== 0) await s.remove(`loop${id}-c${i}`);
  }
} else if (mode === "hold") {
  await s.prepare(`held-${id}`, "base");
  writeFileSync(join(await s.mount(`held-${id}`), "held"), "yes");
  process.stdout.write("held\n");
  process.stdin.resume();
  process.stdin.on("end", () => void s.close().then(() => process.exit(0)));
}
