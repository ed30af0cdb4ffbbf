/**
 * The CLI's command table. Each entry is a light module (yargs CommandModule) whose handler lazily imports
 * the room it needs, so `tsbuild --help` and cached builds start fast. Add one line per command.
 */
import type { CommandModule } from "yargs";

export type CommandLoader = () => Promise<{ readonly command: CommandModule<object, any> }>;

export const commands: readonly CommandLoader[] = [
  () => import("./build.js"),
  () => import("./unshare.js"),
];
