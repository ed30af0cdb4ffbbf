/**
 * Where `tsbuild build` takes SOURCE_DATE_EPOCH from, and what it implies for image outputs (reproducible builds).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsageError } from "../../errors.js";
import type { OutputSpec } from "../../exporter/index.js";

/**
 * The build's SOURCE_DATE_EPOCH: the environment variable when set (an empty value turns the default off), else,
 * when the context directory is the top of a git checkout, the time of its last commit (`git log -1 --format=%ct`),
 * as BuildKit does for git contexts. Undefined when neither applies (or git is missing or fails).
 */
export function sourceDateEpochFor(contextDir: string, env: NodeJS.ProcessEnv): number | undefined {
  const sde = env.SOURCE_DATE_EPOCH;
  if (sde !== undefined) {
    if (sde === "") return undefined;
    if (!/^\d+$/.test(sde)) throw new UsageError(`invalid SOURCE_DATE_EPOCH ${JSON.stringify(sde)}`, { hint: "set it to a Unix time in seconds" });
    return Number(sde);
  }
  const dir = resolve(contextDir);
  if (!existsSync(join(dir, ".git"))) return undefined;
  const r = spawnSync("git", ["-C", dir, "log", "-1", "--format=%ct"], {
    encoding: "utf8",
    timeout: 10_000,
    stdio: ["ignore", "pipe", "ignore"],
    env: { ...env, GIT_TERMINAL_PROMPT: "0" },
  });
  const out = r.status === 0 ? r.stdout.trim() : "";
  return /^\d+$/.test(out) ? Number(out) : undefined;
}

/**
 * With an epoch, image outputs clamp file times in built layers to it (BuildKit's `rewrite-timestamp=true`, which
 * BuildKit leaves off by default) unless a `-o` spec sets `rewrite-timestamp` itself: a build with
 * SOURCE_DATE_EPOCH is reproducible without further flags. Base-image layers are never rewritten.
 */
export function clampImageOutputs(outputs: readonly OutputSpec[] | undefined, rawSpecs: readonly string[], epoch: number | undefined): OutputSpec[] | undefined {
  if (epoch === undefined || outputs === undefined || rawSpecs.some((s) => /(^|,)\s*"?rewrite-timestamp=/.test(s))) return outputs ? [...outputs] : undefined;
  return outputs.map((o) => ("image" in o ? { ...o, image: { ...o.image, rewriteTimestamp: true } } : o) as OutputSpec);
}
