import { describe, expect, it } from "@jest/globals";
import { goJson, goTime } from "../../../src/exporter/go-json.js";

describe("Go-compatible JSON", () => {
  it("escapes HTML characters and line separators as encoding/json does, keeping key order", () => {
    expect(goJson({ b: "a > b && <c>", a: "\u2028" })).toBe('{"b":"a \\u003e b \\u0026\\u0026 \\u003cc\\u003e","a":"\\u2028"}');
    expect(goJson({ x: [1], y: [] }, 2)).toBe('{\n  "x": [\n    1\n  ],\n  "y": []\n}');
  });

  it("formats times like Go's RFC3339Nano in UTC", () => {
    expect(goTime(new Date("2024-01-02T03:04:05.000Z"))).toBe("2024-01-02T03:04:05Z");
    expect(goTime(new Date("2024-01-02T03:04:05.120Z"))).toBe("2024-01-02T03:04:05.12Z");
  });
});
