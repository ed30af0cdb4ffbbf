// Stable, reviewable JSON for expected.json: two-space indent, but each file entry ({path, ...}) on one line so a
// regenerated golden diffs path by path.
const isEntry = (v) => v && typeof v === "object" && !Array.isArray(v) && typeof v.path === "string";

/** Serialize an expectation with one line per layer/merged entry. */
export function formatExpectation(x) {
  const fmt = (v, ind) => {
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      const inner = ind + "  ";
      if (v.every(isEntry) || v.every((s) => typeof s === "string")) return `[\n${v.map((e) => inner + JSON.stringify(e)).join(",\n")}\n${ind}]`;
      return `[\n${v.map((e) => inner + fmt(e, inner)).join(",\n")}\n${ind}]`;
    }
    if (v && typeof v === "object") {
      const keys = Object.keys(v);
      if (keys.length === 0) return "{}";
      const inner = ind + "  ";
      return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${fmt(v[k], inner)}`).join(",\n")}\n${ind}}`;
    }
    return JSON.stringify(v);
  };
  return `${fmt(x, "")}\n`;
}
