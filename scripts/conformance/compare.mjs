#!/usr/bin/env node
// Judge a saved image against a conformance case:
//   node scripts/conformance/compare.mjs fixtures/conformance/<case> IMAGE.tar|OCI-DIR [--json]
// Prints one line per difference (field, path, expected vs actual) and exits 1 when there is any.
import { readFileSync } from "node:fs";
import { archiveExpectation, compareExpectations, loadCase } from "./lib.mjs";

const [caseDir, image, flag] = process.argv.slice(2);
if (!caseDir || !image) {
  process.stderr.write("usage: compare.mjs <case dir> <saved image: docker-archive tar, OCI archive tar or OCI dir> [--json]\n");
  process.exit(2);
}
const c = loadCase(caseDir);
const expected = JSON.parse(readFileSync(c.expectedPath, "utf8"));
const actual = await archiveExpectation(image, { baseLayers: expected.base.layers, baseHistory: expected.base.history });
if (flag === "--json") process.stdout.write(`${JSON.stringify(actual, null, 2)}\n`);
const diffs = compareExpectations(expected, actual);
for (const d of diffs) process.stdout.write(`${c.name}: ${d}\n`);
if (diffs.length) {
  process.stdout.write(`${c.name}: ${diffs.length} difference(s)\n`);
  process.exitCode = 1;
} else process.stdout.write(`${c.name}: conforms\n`);
