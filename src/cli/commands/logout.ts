import type { CommandModule } from "yargs";

export const command: CommandModule<object, any> = {
  command: "logout <server>",
  describe: "Remove stored credentials for a registry",
  builder: (y) => y.positional("server", { type: "string", demandOption: true, describe: "Registry host" }),
  handler: async (argv) => {
    const reg = await import("../../registry/index.js");
    const server = String(argv.server).replace(/^https?:\/\//, "").replace(/\/.*$/, "");
    const host = server === "index.docker.io" || server === "registry-1.docker.io" ? "docker.io" : server;
    const removed = await reg.eraseCredentials(host);
    process.stdout.write(removed ? `Removing login credentials for ${host}\n` : `Not logged in to ${host}\n`);
  },
};
