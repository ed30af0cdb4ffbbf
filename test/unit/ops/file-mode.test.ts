import { describe, expect, it } from "@jest/globals";
import { parseChmod } from "../../../src/ops/file-mode.js";
import { checkMapped } from "../../../src/ops/file-owner.js";
import { cleanAbs } from "../../../src/ops/file-root-path.js";

describe("--chmod", () => {
  // [mode text, original mode, is directory, expected]
  const table: [string, number, boolean, number][] = [
    ["0755", 0o644, false, 0o755],
    ["4755", 0o644, false, 0o755], // Docker 20.10: special bits of an octal --chmod are dropped…
    ["0700", 0o4755, false, 0o4700], // …and the source's are kept: only the permission bits are replaced
    ["4755", 0o4755, false, 0o4755],
    ["0755", 0o3775, true, 0o3755],
    ["0", 0o644, false, 0],
    ["644", 0o755, true, 0o644],
    ["u+x", 0o644, false, 0o744],
    ["+x", 0o644, false, 0o755],
    ["go-w", 0o666, false, 0o644],
    ["u+x,g-r", 0o644, false, 0o704],
    ["a=r", 0o755, false, 0o444],
    ["a=rX", 0o755, true, 0o444],
    ["a+X", 0o644, false, 0o644],
    ["a+X", 0o644, true, 0o755],
    ["a+X", 0o744, false, 0o755],
    ["u=rwx,g=rx,o=", 0o000, false, 0o750],
    ["g=u", 0o640, false, 0o660],
    ["o=g", 0o654, false, 0o655],
    ["u+s", 0o755, false, 0o4755],
    ["g+s", 0o755, true, 0o2755],
    ["+t", 0o755, true, 0o1755],
    ["u-x+w", 0o544, false, 0o644],
  ];
  it.each(table)("%s on %o (dir: %s) gives %o", (text, mode, isDir, want) => {
    expect(parseChmod(text).apply(mode, isDir)).toBe(want);
  });

  it.each(["", "8", "0778", "17777", "u", "z+x", "u+x,", "u+q"])("rejects %j", (text) => {
    expect(() => parseChmod(text)).toThrow(expect.objectContaining({ code: "TSB_OPS_FILE_BAD_CHMOD" }) as unknown as Error);
  });
});

describe("owner ids in the session", () => {
  it("explains that a single-id session cannot chown to other ids", () => {
    const single = [{ containerId: 0, hostId: 1001, size: 1 }];
    expect(() => checkMapped({ uid: 0, gid: 0 }, single, single)).not.toThrow();
    expect(() => checkMapped({ uid: 1000, gid: 0 }, single, single)).toThrow(
      expect.objectContaining({ code: "TSB_OPS_FILE_ID_UNMAPPED", message: expect.stringContaining("maps only id 0"), hint: expect.stringContaining("subuid") }) as unknown as Error,
    );
    const ranged = [{ containerId: 0, hostId: 1001, size: 1 }, { containerId: 1, hostId: 200000, size: 65535 }];
    expect(() => checkMapped({ uid: 1000, gid: 65534 }, ranged, ranged)).not.toThrow();
  });
});

describe("image paths", () => {
  it.each([
    ["a/b", "/a/b"],
    ["/../../etc", "/etc"],
    ["/a/./b/../c/", "/a/c"],
    ["", "/"],
  ])("cleanAbs(%j) = %j", (p, want) => {
    expect(cleanAbs(p)).toBe(want);
  });
});
