import { describe, it, expect } from "@jest/globals";
import { goDuration, goPortMap, goQuote, goQuoteRune } from "../../../src/frontend/dispatch-meta.js";
import { compileText } from "../../../src/frontend/index.js";

describe("Go formatting of history entries", () => {
  it("quotes integers as rune literals like %q", () => {
    const table: [number, string][] = [
      [0, "'\\x00'"], [1, "'\\x01'"], [4, "'\\x04'"], [7, "'\\a'"], [9, "'\\t'"], [10, "'\\n'"], [13, "'\\r'"],
      [31, "'\\x1f'"], [32, "' '"], [39, "'\\''"], [65, "'A'"], [92, "'\\\\'"], [127, "'\\x7f'"], [0x85, "'\\u0085'"],
      [0xe9, "'é'"], [-1, "'�'"],
    ];
    for (const [n, want] of table) expect([n, goQuoteRune(n)]).toEqual([n, want]);
  });

  it("prints an exposed-port set as a sorted Go map", () => {
    expect(goPortMap(["8080/tcp", "80/tcp", "443/udp", "80/tcp"])).toBe("map[443/udp:{} 80/tcp:{} 8080/tcp:{}]");
    expect(goPortMap([])).toBe("map[]");
  });

  it("quotes strings and durations like %q", () => {
    expect(goQuote('a "b"\\c')).toBe('"a \\"b\\"\\\\c"');
    expect(goQuote(goDuration(90e9))).toBe('"1m30s"');
  });
});

describe("STOPSIGNAL validation (moby ParseSignal, Docker 20.10)", () => {
  const amd64 = { os: "linux", architecture: "amd64" };
  const stop = async (sig: string): Promise<unknown> => {
    const r = await compileText(`FROM scratch\nSTOPSIGNAL ${sig}\n`, {
      targetPlatform: amd64, buildPlatform: amd64,
      resolver: { resolve: async () => Promise.reject(new Error("FROM scratch resolves nothing")) },
    });
    return r.image.config?.StopSignal;
  };

  it("takes any non-zero integer and the names of the Linux signal map, kept as written", async () => {
    for (const sig of ["99", "+5", "-3", "9", "SIGKILL", "kill", "RTMIN", "SIGRTMIN+15", "RTMAX-14", "SIGRTMAX"]) expect(await stop(sig)).toBe(sig);
  });

  it("rejects 0, unknown names and real-time offsets past the map", async () => {
    for (const sig of ["0", "SIGFOO", "9x", "RTMIN+16", "RTMAX-15"]) await expect(stop(sig)).rejects.toMatchObject({ code: "TSB_FRONTEND_BAD_SIGNAL" });
  });
});
