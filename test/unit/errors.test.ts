import { describe, expect, it } from "@jest/globals";
import { TsbuildError, UsageError } from "../../src/errors.js";
describe("TsbuildError instanceof", () => {
  it("brands the base class and keeps prototype checks for subclasses", () => {
    class OtherError extends TsbuildError {}
    const u = new UsageError("x");
    expect(u instanceof TsbuildError).toBe(true);
    expect(u instanceof UsageError).toBe(true);
    expect(u instanceof OtherError).toBe(false);
    expect(new OtherError("TSB_X", "y") instanceof UsageError).toBe(false);
    expect(new Error("z") instanceof TsbuildError).toBe(false);
  });
});
