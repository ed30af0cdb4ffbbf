import { describe, expect, it } from "@jest/globals";
import { isIdentityMap, mapToArgs, parseIdMap, parseSubIds, sessionMap, toContainerId, toHostId } from "../../../src/executor/idmap.js";

describe("id maps", () => {
  const map = parseIdMap("         0       1001          1\n         1     100000      65535\n");

  it("parses /proc/PID/uid_map", () => {
    expect(map).toEqual([
      { containerId: 0, hostId: 1001, size: 1 },
      { containerId: 1, hostId: 100000, size: 65535 },
    ]);
    expect(isIdentityMap(parseIdMap("0 0 4294967295"))).toBe(true);
    expect(isIdentityMap(map)).toBe(false);
  });

  it("translates both ways and reports unmapped ids", () => {
    expect(toHostId(map, 0)).toBe(1001);
    expect(toHostId(map, 42)).toBe(100041);
    expect(toHostId(map, 65535)).toBe(165534);
    expect(toHostId(map, 65536)).toBeUndefined();
    expect(toContainerId(map, 1001)).toBe(0);
    expect(toContainerId(map, 100041)).toBe(42);
    expect(toContainerId(map, 0)).toBeUndefined();
  });

  it("reads the user's subordinate ranges by name or uid", () => {
    const text = "# comment\nalice:100000:65536\nbob:200000:1000\n1002:300000:65536\nbob:400000:70000\n";
    expect(parseSubIds(text, "bob", 1001)).toEqual([{ start: 200000, count: 1000 }, { start: 400000, count: 70000 }]);
    expect(parseSubIds(text, "carol", 1002)).toEqual([{ start: 300000, count: 65536 }]);
    expect(parseSubIds(text, "dave", 1003)).toEqual([]);
  });

  it("builds 0 → own id, then 1..65535 from the ranges in order", () => {
    const m = sessionMap(1001, [{ start: 200000, count: 1000 }, { start: 400000, count: 70000 }]);
    expect(mapToArgs(m)).toBe("0 1001 1 1 200000 1000 1001 400000 64535");
    expect(mapToArgs(sessionMap(1001, []))).toBe("0 1001 1");
  });
});
