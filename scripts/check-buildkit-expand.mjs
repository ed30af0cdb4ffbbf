#!/usr/bin/env node
// Run BuildKit's own shell-lexer tables (frontend/dockerfile/shell/envVarTest and wordsTest) against
// src/parser/expand.ts and report every disagreement. Usage:
//   node scripts/check-buildkit-expand.mjs /path/to/buildkit      (or set BUILDKIT_SRC)
// The tables are read from the checkout at run time; nothing from it is copied into this repository.
import { readFileSync, mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const repo = resolve(import.meta.dirname, "..");
const src = process.argv[2] ?? process.env.BUILDKIT_SRC;
if (!src) {
  console.error("usage: node scripts/check-buildkit-expand.mjs BUILDKIT_CHECKOUT (or set BUILDKIT_SRC)");
  process.exit(2);
}
const shellDir = join(src, "frontend/dockerfile/shell");
for (const f of ["envVarTest", "wordsTest"]) {
  if (!existsSync(join(shellDir, f))) {
    console.error(`not a BuildKit checkout: ${join(shellDir, f)} is missing`);
    process.exit(2);
  }
}

const out = mkdtempSync(join(tmpdir(), "tsbuild-expand-"));
const file = join(out, "expand.mjs");
await build({ entryPoints: [join(repo, "src/parser/expand.ts")], bundle: true, format: "esm", platform: "node", outfile: file, logLevel: "error" });
const { expandWord, expandWords } = await import(pathToFileURL(file).href);
rmSync(out, { recursive: true, force: true });

let pass = 0;
const failures = [];

// envVarTest: "PLATFORM | input | expected" with a fixed env, ProcessWord, Unix rows (A and U).
const env = new Map([["PWD", "/home"], ["SHELL", "bash"], ["KOREAN", "한국어"], ["NULL", ""]]);
readFileSync(join(shellDir, "envVarTest"), "utf8").split("\n").forEach((raw, i) => {
  if (raw.startsWith("#")) return;
  const line = raw.trim();
  if (line === "") return;
  const parts = line.split("|");
  if (parts.length !== 3) return failures.push(`envVarTest:${i + 1}: malformed line`);
  const [platform, input, expected] = parts.map((p) => p.trim());
  if (platform === "W") return;
  let got;
  try {
    got = expandWord(input, env, { escape: "\\" });
  } catch (e) {
    got = e.code?.startsWith("TSB_EXPAND_") ? "error" : `crash: ${e}`;
  }
  if (got === expected) pass++;
  else failures.push(`envVarTest:${i + 1}: ${JSON.stringify(input)} → ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`);
});

// wordsTest: "input | w1,w2" with "ENV k=v" lines accumulating the env, ProcessWords.
const wenv = new Map();
readFileSync(join(shellDir, "wordsTest"), "utf8").split("\n").forEach((line, i) => {
  if (line.startsWith("#") || line === "") return;
  if (line.startsWith("ENV ")) {
    const kv = line.slice(3).replace(/^ +/, "");
    const eq = kv.indexOf("=");
    wenv.set(eq < 0 ? kv : kv.slice(0, eq), eq < 0 ? "" : kv.slice(eq + 1));
    return;
  }
  const parts = line.split("|");
  if (parts.length !== 2) return failures.push(`wordsTest:${i + 1}: malformed line`);
  const input = parts[0].trim();
  const expected = parts[1].replace(/^ +/, "").split(",");
  let got;
  try {
    got = expandWords(input, wenv, { escape: "\\" });
  } catch (e) {
    got = e.code?.startsWith("TSB_EXPAND_") ? ["error"] : [`crash: ${e}`];
  }
  if (JSON.stringify(got) === JSON.stringify(expected)) pass++;
  else failures.push(`wordsTest:${i + 1}: ${JSON.stringify(input)} → ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`);
});

for (const f of failures) console.log(`FAIL ${f}`);
console.log(`${pass} passed, ${failures.length} failed (BuildKit envVarTest + wordsTest)`);
process.exit(failures.length === 0 ? 0 : 1);
