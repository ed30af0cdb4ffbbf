/**
 * `tsbuild parse [--dump|--json] FILE`: parse a Dockerfile and print its AST, as BuildKit's s-expression dump
 * (default) or as JSON with source positions. Parse errors are thrown as ParseError for renderError.
 */
import type { CommandModule } from "yargs";

interface ParseArgs {
  readonly file: string;
  readonly dump?: boolean;
  readonly json?: boolean;
}

export const command: CommandModule<object, ParseArgs> = {
  command: "parse <file>",
  describe: "Parse a Dockerfile and print its syntax tree",
  builder: (y) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "Dockerfile to parse ('-' for stdin)" })
      .option("dump", { type: "boolean", describe: "Print BuildKit's s-expression dump (default)" })
      .option("json", { type: "boolean", describe: "Print the AST as JSON, with source positions" })
      .conflicts("dump", "json"),
  handler: async (args) => {
    const { readFile } = await import("node:fs/promises");
    const { UsageError } = await import("../../errors.js");
    const { parseDockerfile, dumpAst } = await import("../../parser/index.js");
    let text: string;
    try {
      text = args.file === "-" ? await readStdin() : await readFile(args.file, "utf8");
    } catch (err) {
      throw new UsageError(`cannot read Dockerfile ${args.file}: ${(err as NodeJS.ErrnoException).code ?? "read error"}`, {
        hint: "check the path (use '-' to read the Dockerfile from stdin)",
      });
    }
    const ast = parseDockerfile(text, { filename: args.file === "-" ? "<stdin>" : args.file });
    for (const w of ast.warnings) {
      process.stderr.write(`warning: ${ast.filename}:${w.range.start.line}:${w.range.start.column}: ${w.message} (${w.rule})\n`);
    }
    if (args.json === true) {
      const { text: _text, ...rest } = ast;
      process.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
    } else {
      process.stdout.write(`${dumpAst(ast)}\n`);
    }
  },
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
