import { describe, expect, it } from "@jest/globals";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasDockerCli } from "../../../src/cli/commands/docker-load.js";

describe("--load docker detection", () => {
  it("finds docker only when an executable of that name is on PATH", () => {
    const empty = mkdtempSync(join(tmpdir(), "tsb-nodocker-"));
    expect(hasDockerCli({ PATH: empty })).toBe(false);
    writeFileSync(join(empty, "docker"), "#!/bin/sh\n");
    expect(hasDockerCli({ PATH: empty })).toBe(false); // not executable
    chmodSync(join(empty, "docker"), 0o755);
    expect(hasDockerCli({ PATH: empty })).toBe(true);
  });
});
