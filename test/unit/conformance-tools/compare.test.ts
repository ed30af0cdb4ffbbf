import { describe, it, expect } from "@jest/globals";
import { compareExpectations, type ConformanceEntry, type ImageExpectation } from "../../../scripts/conformance/lib.mjs";

const f = (path: string, extra: Partial<ConformanceEntry> = {}): ConformanceEntry => ({
  path, type: "file", mode: "0644", uid: 0, gid: 0, size: 1, sha256: "aa", mtime: 1600000000, ...extra,
});
const d = (path: string, extra: Partial<ConformanceEntry> = {}): ConformanceEntry => ({ path, type: "dir", mode: "0755", uid: 0, gid: 0, mtime: "build", ...extra });

function image(over: Partial<ImageExpectation> = {}): ImageExpectation {
  return {
    schema: 1,
    base: { layers: 1, history: 1, diffIds: [] },
    image: { architecture: "amd64", os: "linux", config: { Env: ["PATH=/bin"], Cmd: ["/bin/sh", "-c", "echo hi"], ArgsEscaped: true } },
    history: [
      { created_by: "COPY a /a # buildkit", comment: "buildkit.dockerfile.v0", empty_layer: false },
      { created_by: "RUN /bin/sh -c true # buildkit", comment: "buildkit.dockerfile.v0", empty_layer: false },
      { created_by: "CMD [\"/bin/sh\" \"-c\" \"echo hi\"]", comment: "buildkit.dockerfile.v0", empty_layer: true },
    ],
    layers: [[f("/a")], [d("/dev"), d("/etc"), d("/proc"), d("/sys")]],
    merged: { changed: [f("/a"), d("/dev"), d("/etc")], removed: ["/bin/vi"] },
    ...over,
  };
}

describe("compareExpectations", () => {
  it("finds no difference between equal expectations", () => {
    expect(compareExpectations(image(), image())).toEqual([]);
  });

  it("names the config field with expected and actual values", () => {
    const actual = image({ image: { architecture: "amd64", os: "linux", config: { Env: ["PATH=/usr/bin"], Cmd: ["/bin/sh", "-c", "echo hi"], ArgsEscaped: true } } });
    expect(compareExpectations(image(), actual)).toEqual(['config.config.Env: expected ["PATH=/bin"], actual ["PATH=/usr/bin"]']);
  });

  it("treats an absent field and a missing one alike but not an empty array", () => {
    const noArgs = image({ image: { architecture: "amd64", os: "linux", config: { Env: ["PATH=/bin"], Cmd: ["/bin/sh", "-c", "echo hi"] } } });
    expect(compareExpectations(image(), noArgs)).toEqual(["config.config.ArgsEscaped: expected true, actual (absent)"]);
  });

  it("reports a layer entry's mode, owner and content per path", () => {
    const actual = image({ layers: [[f("/a", { mode: "0600", uid: 1000, sha256: "bb" })], []] });
    expect(compareExpectations(image(), actual)).toEqual([
      'layer[0] (COPY a /a) /a: mode expected "0644", actual "0600"',
      "layer[0] (COPY a /a) /a: uid expected 0, actual 1000",
      'layer[0] (COPY a /a) /a: sha256 expected "aa", actual "bb"',
    ]);
  });

  it("reports missing and unexpected paths, whiteouts and opaque markers", () => {
    const expected = image({ layers: [[f("/a"), { path: "/gone", type: "whiteout" }, d("/o"), { path: "/o", type: "opaque" }], []] });
    const actual = image({ layers: [[f("/b"), d("/o")], []] });
    expect(compareExpectations(expected, actual)).toEqual([
      'layer[0] (COPY a /a) /a: missing (expected file 0644 0:0)',
      "layer[0] (COPY a /a) /gone (whiteout): missing (expected whiteout)",
      "layer[0] (COPY a /a) /o (opaque marker): missing (expected opaque)",
      "layer[0] (COPY a /a) /b: unexpected file 0644 0:0",
    ]);
  });

  it("tells a kept source mtime from one set at build time", () => {
    const actual = image({ merged: { changed: [f("/a", { mtime: "build" }), d("/dev"), d("/etc")], removed: ["/bin/vi"] } });
    expect(compareExpectations(image(), actual)).toEqual(['merged /a: mtime expected 1600000000, actual "build"']);
  });

  it("reports paths removed from the base on one side only", () => {
    const actual = image({ merged: { changed: [f("/a"), d("/dev"), d("/etc")], removed: [] } });
    expect(compareExpectations(image(), actual)).toEqual(["merged /bin/vi: expected removed from the base, actual present"]);
  });

  it("ignores the ' # buildkit' marker of created_by but not the command", () => {
    const h = image().history;
    const same = image({ history: [{ ...h[0]!, created_by: "COPY a /a" }, h[1]!, h[2]!] });
    expect(compareExpectations(image(), same)).toEqual([]);
    const other = image({ history: [{ ...h[0]!, created_by: "COPY a /b # buildkit" }, h[1]!, h[2]!] });
    expect(compareExpectations(image(), other)).toEqual(['history[0] (COPY a /a).created_by: expected "COPY a /a", actual "COPY a /b"']);
  });

  it("takes a layer of runtime stub directories only as an empty layer, like a dropped one", () => {
    const h = image().history;
    const dropped = image({
      history: [h[0]!, { ...h[1]!, empty_layer: true }, h[2]!],
      layers: [[f("/a")]],
      merged: { changed: [f("/a")], removed: ["/bin/vi"] },
    });
    expect(compareExpectations(image(), dropped)).toEqual([]);
  });

  it("keeps a stub directory that has changes under it or other metadata", () => {
    const actual = image({ layers: [[f("/a")], [d("/etc", { mode: "0700" })]] });
    expect(compareExpectations(image(), actual)).toEqual([
      "history[1] (RUN /bin/sh -c true).empty_layer: expected true, actual false",
      "layers: expected 1 after the base, actual 2",
      'layer[1] (RUN /bin/sh -c true) /etc: unexpected dir 0700 0:0',
    ]);
  });

  it("reports a different number of history entries", () => {
    const actual = image({ history: image().history.slice(0, 2) });
    const diffs = compareExpectations(image(), actual);
    expect(diffs[0]).toBe("history: expected 3 entries after the base, actual 2");
    expect(diffs).toContain('history[2]: expected {"comment":"buildkit.dockerfile.v0","created_by":"CMD [\\"/bin/sh\\" \\"-c\\" \\"echo hi\\"]","empty_layer":true}, actual (absent)');
  });
});

describe("compareExpectations on config maps", () => {
  const withLabels = (labels: Record<string, string>): ImageExpectation =>
    image({ image: { architecture: "amd64", os: "linux", config: { Env: ["PATH=/bin"], Cmd: ["/bin/sh", "-c", "echo hi"], ArgsEscaped: true, Labels: labels } } });

  it("does not judge key order but does judge values", () => {
    expect(compareExpectations(withLabels({ a: "1", b: "2" }), withLabels({ b: "2", a: "1" }))).toEqual([]);
    expect(compareExpectations(withLabels({ a: "1", b: "2" }), withLabels({ a: "1", b: "3" }))).toEqual([
      'config.config.Labels: expected {"a":"1","b":"2"}, actual {"a":"1","b":"3"}',
    ]);
  });
});
