/**
 * Conformance judge for end-to-end tests: each case of fixtures/conformance was built by Docker's own BuildKit and
 * its image recorded in expected.json (see fixtures/conformance/README.md). A tsbuild-built image of the same case
 * must match it: config fields, history, per-layer tar listings and the merged filesystem.
 *
 * To build a case with tsbuild: import the busybox rootfs tar (busyboxRootfsTar()) as BASE_IMAGE, build cases in
 * conformanceCases() order, tagging each as its `imageName` (later cases build FROM earlier ones), from the context
 * prepared by conformanceContext() with the case's `dockerfile`, `buildArgs` and `target`; save the image
 * (docker-archive or OCI) and call expectConforms(case.dir, savedPath).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BASE_IMAGE,
  archiveExpectation,
  caseImageName,
  compareExpectations,
  listCases,
  loadCase,
  prepareContext,
  type ConformanceCase,
  type ImageExpectation,
} from "../../scripts/conformance/lib.mjs";

export { BASE_IMAGE, caseImageName };
export type { ConformanceCase, ImageExpectation };

/** Every conformance case, dependencies (dependsOn) before their dependents. */
export function conformanceCases(): ConformanceCase[] {
  return listCases();
}

/** A fresh copy of the case's build context with pinned modes and mtimes (the reference saw the same bytes). */
export function conformanceContext(c: ConformanceCase, dest?: string): string {
  return prepareContext(c, dest ?? join(mkdtempSync(join(tmpdir(), `tsb-conf-${c.name}-`)), "context"));
}

/** The recorded reference expectation of a case. */
export function expectedOf(caseDir: string): ImageExpectation {
  return JSON.parse(readFileSync(loadCase(caseDir).expectedPath, "utf8")) as ImageExpectation;
}

/** Differences between the saved image and the case's reference (empty when it conforms). */
export async function conformanceDiffs(caseDir: string, savedImagePath: string): Promise<string[]> {
  const expected = expectedOf(caseDir);
  const actual = await archiveExpectation(savedImagePath, { baseLayers: expected.base.layers, baseHistory: expected.base.history });
  return compareExpectations(expected, actual);
}

/**
 * Fail (throw) unless the saved image (docker-archive tar, OCI archive tar or OCI layout dir) conforms to the case,
 * listing every difference: field or path, expected vs actual.
 */
export async function expectConforms(caseDir: string, savedImagePath: string): Promise<void> {
  const diffs = await conformanceDiffs(caseDir, savedImagePath);
  if (diffs.length) {
    const name = loadCase(caseDir).name;
    throw new Error(`image does not conform to conformance case ${name} (${diffs.length} difference(s)):\n  ${diffs.join("\n  ")}`);
  }
}
