import type { CommandModule } from "yargs";

/** `tsbuild unshare [-- CMD ARGS...]`: run CMD (default $SHELL) as root of a tsbuild session, like `buildah unshare`. */
export const command: CommandModule<object, any> = {
  command: "unshare [cmd..]",
  describe: "Run a command (default $SHELL) inside tsbuild's user and mount namespace session",
  builder: (y) =>
    y
      .positional("cmd", { type: "string", array: true, describe: "Command and arguments (put them after --)" })
      .parserConfiguration({ "populate--": true, "unknown-options-as-args": true }),
  handler: async (args) => {
    const { runInSession } = await import("../../executor/index.js");
    const a = args as { cmd?: unknown[]; "--"?: unknown[] };
    const cmd = [...(a.cmd ?? []), ...(a["--"] ?? [])].map(String);
    if (cmd.length === 0) cmd.push(process.env.SHELL || "/bin/sh");
    const r = await runInSession(cmd);
    process.exitCode = r.exitCode;
  },
};
