import type { CommandModule } from "yargs";
import { insecureOption } from "./pull.js";

/** Read all of stdin as text. */
async function readStdin(): Promise<string> {
  let s = "";
  process.stdin.setEncoding("utf8");
  for await (const chunk of process.stdin) s += chunk as string;
  return s;
}

/** Ask on the terminal; `hidden` suppresses the echo (passwords). */
async function prompt(question: string, hidden: boolean): Promise<string> {
  const { createInterface } = await import("node:readline");
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (hidden) {
    const rlAny = rl as unknown as { _writeToOutput: (s: string) => void };
    rlAny._writeToOutput = (s: string) => void (s.startsWith(question) && process.stderr.write(question));
  }
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      if (hidden) process.stderr.write("\n");
      resolve(answer);
    });
  });
}

export const command: CommandModule<object, any> = {
  command: "login <server>",
  describe: "Log in to a registry (verifies the credentials, then stores them like `docker login`)",
  builder: (y) =>
    y
      .positional("server", { type: "string", demandOption: true, describe: "Registry host, e.g. ghcr.io or localhost:5000" })
      .option("username", { alias: "u", type: "string", describe: "Username" })
      .option("password", { alias: "p", type: "string", describe: "Password (insecure: prefer --password-stdin)" })
      .option("password-stdin", { type: "boolean", default: false, describe: "Read the password from stdin" })
      .option("insecure-registry", insecureOption),
  handler: async (argv) => {
    const [api, reg] = await Promise.all([import("../../errors.js"), import("../../registry/index.js")]);
    const { insecureRegistries } = await import("./pull.js");
    const server = String(argv.server).replace(/^https?:\/\//, "").replace(/\/.*$/, "");
    const host = server === "index.docker.io" || server === "registry-1.docker.io" ? "docker.io" : server;
    let username = argv.username as string | undefined;
    let password = argv.password as string | undefined;
    if (argv["password-stdin"]) {
      if (password !== undefined) throw new api.UsageError("--password and --password-stdin are mutually exclusive");
      if (username === undefined) throw new api.UsageError("--password-stdin needs --username", { hint: `run 'tsbuild login ${host} -u USER --password-stdin'` });
      password = (await readStdin()).replace(/\r?\n$/, "");
    } else if (password !== undefined) {
      process.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
    }
    if (username === undefined || password === undefined) {
      if (!process.stdin.isTTY) throw new api.UsageError("no credentials given and stdin is not a terminal", { hint: `run 'tsbuild login ${host} -u USER --password-stdin' and pipe the password` });
      if (username === undefined) username = (await prompt("Username: ", false)).trim();
      if (password === undefined) password = await prompt("Password: ", true);
    }
    if (!username) throw new api.UsageError("username is empty");
    if (!password) throw new api.UsageError("password is empty");
    await reg.verifyLogin(host, { username, password }, { insecureRegistries: insecureRegistries(argv) });
    const where = await reg.storeCredentials(host, { username, password });
    process.stderr.write(`Credentials saved in ${where}\n`);
    process.stdout.write("Login Succeeded\n");
  },
};
