/**
 * The CLI's command table. Each entry is a light module (yargs CommandModule) whose handler lazily imports
 * the room it needs, so `tsbuild --help` and cached builds start fast. Add one line per command.
 */
import type { CommandModule } from "yargs";

export type CommandLoader = () => Promise<{ readonly command: CommandModule<object, any> }>;

export const commands: readonly CommandLoader[] = [
  () => import("./build.js"),
  () => import("./graph.js"),
  () => import("./unshare.js"),
  () => import("./parse.js"),
  () => import("./images.js"),
  () => import("./tag.js"),
  () => import("./rmi.js"),
  () => import("./import.js"),
  () => import("./save.js"),
  () => import("./load.js"),
  () => import("./prune.js"),
  () => import("./du.js"),
  () => import("./pull.js"),
  () => import("./push.js"),
  () => import("./login.js"),
  () => import("./logout.js"),
  () => import("./explain.js"),
  () => import("./doctor.js"),
];
