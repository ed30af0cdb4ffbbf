#!/usr/bin/env node
// The CLI entry: everything lives in the bundle built by `npm run build` (dist/cli.js).
import { main } from "../dist/cli.js";

process.exitCode = await main(process.argv.slice(2));
// Once main has returned, nothing may keep the process alive: a leaked handle must not turn into a hung CI step.
setTimeout(() => process.exit(), 5000).unref();
