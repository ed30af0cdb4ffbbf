import { describe, expect, it } from "@jest/globals";
import { displayWidth, fitLine, sanitizeLine, truncate } from "../../../src/progress/render/text.js";

describe("terminal text helpers", () => {
  it("strips escape sequences and control characters from log text", () => {
    expect(sanitizeLine("\u001b[31mred\u001b[0m \u001b]0;title\u0007ok")).toBe("red ok");
    expect(sanitizeLine("a\u0007b\u0008c\u001b[2Kd")).toBe("abcd");
    expect(sanitizeLine("10%\r50%\r100%")).toBe("100%");
    expect(sanitizeLine("done\r")).toBe("done");
    expect(sanitizeLine("a\tb")).toBe("a       b");
  });

  it("measures wide and zero-width characters", () => {
    expect(displayWidth("abc")).toBe(3);
    expect(displayWidth("日本")).toBe(4);
    expect(displayWidth("e\u0301")).toBe(1);
    expect(displayWidth("🚀")).toBe(2);
  });

  it("truncates with an ellipsis and never exceeds the width", () => {
    expect(truncate("hello world", 20)).toBe("hello world");
    expect(truncate("hello world", 8)).toBe("hello w…");
    expect(truncate("日本語のテキスト", 7)).toBe("日本語…");
    expect(displayWidth(truncate("日本語のテキスト", 7))).toBeLessThanOrEqual(7);
    expect(truncate("abc", 0)).toBe("");
  });

  it("fits a right-aligned column", () => {
    expect(fitLine("left", "1.0s", 12)).toBe("left    1.0s");
    expect(fitLine("a long left part", "1.0s", 12)).toBe("a long… 1.0s");
    expect(fitLine("left", "too wide right", 8)).toBe("left");
  });
});
