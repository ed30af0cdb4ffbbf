#!/usr/bin/env node
// The CLI entry: everything lives in the bundle built by `npm run build` (dist/cli.js).
import { main } from "../dist/cli.js";

process.exitCode = await main(process.argv.slice(2));
