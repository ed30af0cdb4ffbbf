import { describe, expect, it } from "@jest/globals";
import { decodeName, fsPath, hasEscapes, rawBytes } from "../../../src/snapshot/raw-names.js";

describe("raw file names", () => {
  it("decodes UTF-8 as usual and keeps every other byte, exactly both ways", () => {
    const cases = [
      Buffer.from("plain-ascii"),
      Buffer.from("café ünïcode 日本 😀"),
      Buffer.from([0x63, 0x61, 0x66, 0xe9]), // latin-1 café
      Buffer.from([0xff, 0xfe, 0x2e, 0x74]),
      Buffer.from([0xe2, 0x82]), // a truncated 3-byte sequence
      Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf5, 0x80]), // overlong, an encoded surrogate, out of range
      Buffer.concat([Buffer.from("ok-é-"), Buffer.from([0x80]), Buffer.from("-😀")]),
    ];
    for (const raw of cases) {
      const name = decodeName(raw);
      expect(rawBytes(name).equals(raw)).toBe(true);
      expect(hasEscapes(name)).toBe(raw.toString("utf8") !== name);
    }
    expect(decodeName(Buffer.from("café"))).toBe("café");
    expect(decodeName(Buffer.from([0x61, 0xff]))).toBe("a\udcff");
  });

  it("gives fs calls a string when it can and the bytes when it must", () => {
    expect(fsPath("/a/café")).toBe("/a/café");
    expect(fsPath("/a/caf\udce9")).toEqual(Buffer.from([0x2f, 0x61, 0x2f, 0x63, 0x61, 0x66, 0xe9]));
  });
});
