import { describe, expect, it } from "@jest/globals";
import { alignHistory, imageCreated, EXPORTER_HISTORY_COMMENT } from "../../../src/exporter/index.js";

const NOW = new Date("2025-03-04T05:06:07.500Z");
const base = [{ created: "2020-01-01T00:00:00Z", created_by: "base layer" }, { created: "2020-01-01T00:00:01Z", created_by: "CMD sh", empty_layer: true }];

describe("alignHistory", () => {
  it("fills layer times with the export time and empty entries from their neighbours", () => {
    const h = alignHistory(
      [...base, { created_by: "ENV A=1", empty_layer: true }, { created_by: "RUN a # buildkit", comment: "buildkit.dockerfile.v0" }],
      { dropped: [false, false], now: NOW },
    );
    expect(h).toEqual([
      base[0], base[1],
      { created: "2025-03-04T05:06:07.5Z", created_by: "ENV A=1", empty_layer: true },
      { created: "2025-03-04T05:06:07.5Z", created_by: "RUN a # buildkit", comment: "buildkit.dockerfile.v0" },
    ]);
  });

  it("takes layer times from when each layer was built, so a cached rebuild gives the same history", () => {
    const hist = [...base, { created_by: "RUN a # buildkit" }, { created_by: "CMD x", empty_layer: true }];
    const layerCreated = [undefined, "2024-05-06T07:08:09.123Z"];
    const h = alignHistory(hist, { dropped: [false, false], now: NOW, layerCreated });
    expect(h[2]!.created).toBe("2024-05-06T07:08:09.123Z");
    expect(h[3]!.created).toBe("2024-05-06T07:08:09.123Z");
    expect(imageCreated(undefined, h, NOW)).toBe("2024-05-06T07:08:09.123Z");
    const later = alignHistory(hist, { dropped: [false, false], now: new Date("2030-01-01T00:00:00Z"), layerCreated });
    expect(later).toEqual(h);
    const epoch = alignHistory(hist, { dropped: [false, false], now: NOW, layerCreated, sourceDateEpoch: 1_600_000_000, baseHistory: base });
    expect(epoch[2]!.created).toBe("2020-09-13T12:26:40Z");
    const invented = alignHistory([base[0]!], { dropped: [false, false], now: NOW, layerCreated });
    expect(invented[1]).toEqual({ created: "2024-05-06T07:08:09.123Z", comment: EXPORTER_HISTORY_COMMENT });
  });

  it("marks entries of dropped (unchanged) layers empty", () => {
    const h = alignHistory([base[0]!, { created_by: "RUN true" }, { created_by: "RUN echo > f" }], { dropped: [false, true, false], now: NOW });
    expect(h.map((e) => e.empty_layer ?? false)).toEqual([false, true, false]);
  });

  it("adds entries for layers nobody described and marks surplus entries empty", () => {
    const more = alignHistory([base[0]!], { dropped: [false, false], now: NOW });
    expect(more[1]).toEqual({ created: "2025-03-04T05:06:07.5Z", comment: EXPORTER_HISTORY_COMMENT });
    const fewer = alignHistory([base[0]!, { created_by: "RUN x" }, { created_by: "RUN y" }], { dropped: [false], now: NOW });
    expect(fewer.map((e) => e.empty_layer ?? false)).toEqual([false, true, true]);
  });

  it("clamps times after SOURCE_DATE_EPOCH but keeps the base image's own history", () => {
    const epoch = 1_700_000_000;
    const late = { created: "2030-01-01T00:00:00Z", created_by: "late base" };
    const h = alignHistory([late, { created_by: "RUN a" }], { dropped: [false, false], now: NOW, sourceDateEpoch: epoch, baseHistory: [late] });
    expect(h[0]!.created).toBe("2030-01-01T00:00:00Z");
    expect(h[1]!.created).toBe("2023-11-14T22:13:20Z");
    const noBase = alignHistory([late, { created_by: "RUN a" }], { dropped: [false, false], now: NOW, sourceDateEpoch: epoch });
    expect(noBase[0]!.created).toBe("2023-11-14T22:13:20Z");
  });

  it("writes entries with Go's field order", () => {
    const [e] = alignHistory([{ empty_layer: true, comment: "c", author: "a", created_by: "b", created: "2020-01-01T00:00:00Z" }], { dropped: [], now: NOW });
    expect(Object.keys(e!)).toEqual(["created", "created_by", "author", "comment", "empty_layer"]);
  });
});

describe("imageCreated", () => {
  it("uses the last history time, the given time clamped, or now", () => {
    expect(imageCreated(undefined, [{ created: "2021-01-01T00:00:00Z" }, { created: "2022-01-01T00:00:00Z" }], NOW)).toBe("2022-01-01T00:00:00Z");
    expect(imageCreated("2030-01-01T00:00:00Z", [], NOW, 0)).toBe("1970-01-01T00:00:00Z");
    expect(imageCreated(undefined, [], NOW)).toBe("2025-03-04T05:06:07.5Z");
  });
});
