import { describe, expect, it } from "@jest/globals";
import { isBrokenPipe } from "../../../src/util/broken-pipe.js";

describe("isBrokenPipe", () => {
  it("knows EPIPE by code, by message and through a wrapping error's cause", () => {
    expect(isBrokenPipe(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }))).toBe(true);
    expect(isBrokenPipe(new Error("write EPIPE"))).toBe(true);
    expect(isBrokenPipe(new Error("writing the filesystem tar failed", { cause: Object.assign(new Error("x"), { code: "EPIPE" }) }))).toBe(true);
    expect(isBrokenPipe(Object.assign(new Error("disk full"), { code: "ENOSPC" }))).toBe(false);
    expect(isBrokenPipe(undefined)).toBe(false);
  });
});
