#!/usr/bin/env node
// Opt-in conformance check against a BuildKit checkout (not available in CI): every
// frontend/dockerfile/parser/testfiles/<case>/Dockerfile must dump exactly to its `result`, and every
// testfiles-negative/<case>/Dockerfile must fail with a ParseError. Uses the bundle (run `node scripts/bundle.mjs`).
// Usage: BUILDKIT_SRC=/path/to/buildkit node scripts/check-buildkit-goldens.mjs
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const repo = resolve(import.meta.dirname, "..");
const src = process.env.BUILDKIT_SRC ?? "/work/ref/buildkit";
const base = join(src, "frontend/dockerfile/parser");
if (!existsSync(join(base, "testfiles"))) {
  console.error(`check-buildkit-goldens: no BuildKit checkout at ${src} (set BUILDKIT_SRC)`);
  process.exit(2);
}
const bundle = join(repo, "dist/index.js");
if (!existsSync(bundle)) {
  console.error("check-buildkit-goldens: dist/index.js missing; run `node scripts/bundle.mjs` first");
  process.exit(2);
}
const { parseDockerfile, dumpAst } = await import(pathToFileURL(bundle).href);

let pass = 0;
const failures = [];
for (const name of readdirSync(join(base, "testfiles")).sort()) {
  const dir = join(base, "testfiles", name);
  const text = readFileSync(join(dir, "Dockerfile"), "utf8");
  const want = readFileSync(join(dir, "result"), "utf8").replaceAll("\r\n", "\n");
  try {
    const got = `${dumpAst(parseDockerfile(text, { filename: "Dockerfile" }))}\n`;
    if (got === want) pass++;
    else failures.push(`${name}: dump differs\n--- want\n${want}--- got\n${got}`);
  } catch (err) {
    failures.push(`${name}: ${err?.code ?? ""} ${err?.message ?? err}`);
  }
}
for (const name of readdirSync(join(base, "testfiles-negative")).sort()) {
  const text = readFileSync(join(base, "testfiles-negative", name, "Dockerfile"), "utf8");
  try {
    parseDockerfile(text, { filename: "Dockerfile" });
    failures.push(`negative ${name}: parsed without error`);
  } catch (err) {
    if (err?.name === "ParseError" && String(err.code).startsWith("TSB_PARSE_")) pass++;
    else failures.push(`negative ${name}: unexpected ${err?.stack ?? err}`);
  }
}
for (const f of failures) console.log(`FAIL ${f}`);
console.log(`buildkit goldens: ${pass} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
