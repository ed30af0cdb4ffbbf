import { describe, it, expect } from "@jest/globals";
import { CacheConfigBuilder, chainOf, configBlobs, parseCacheConfig, type ChainLayer } from "../../../src/cache/remote/index.js";
import { computeCacheKey, type CacheKeyRecord } from "../../../src/solver/index.js";
import { sha256, type Digest } from "../../../src/util/digest.js";

const layer = (n: string, extra: Partial<ChainLayer> = {}): ChainLayer => ({
  digest: sha256(`blob ${n}`), size: n.length, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", diffId: sha256(`diff ${n}`), ...extra,
});

function record(op: string, inputKey?: Digest): CacheKeyRecord {
  const opDigest = sha256(op);
  const deps = inputKey ? [{ inputKey }] : [];
  return { key: computeCacheKey(opDigest, deps), opDigest, deps };
}

describe("cache config", () => {
  it("shares chain links between records and round-trips through JSON", () => {
    const b = new CacheConfigBuilder();
    const base = record("from");
    const run = record("run", base.key);
    const copy = record("copy", run.key);
    b.add(base, [layer("base")]);
    b.add(run, [layer("base"), layer("run", { created: "2024-01-01T00:00:00Z" })]);
    b.add(copy, [layer("base"), layer("run", { created: "2024-01-01T00:00:00Z" }), layer("copy", { empty: true })]);
    b.add(copy, [layer("other")]); // a key is recorded once
    const config = b.build();
    expect(config.layers).toHaveLength(3);
    expect(config.records).toHaveLength(3);
    const parsed = parseCacheConfig(JSON.stringify(config));
    expect(parsed?.dropped).toBe(0);
    const rec = parsed!.config.records.find((r) => r.key === copy.key)!;
    const chain = chainOf(parsed!.config, rec.layer);
    expect(chain.map((l) => l.diffId)).toEqual([layer("base").diffId, layer("run").diffId, layer("copy").diffId]);
    expect(chain[1]!.created).toBe("2024-01-01T00:00:00Z");
    expect(chain[2]!.empty).toBe(true);
    expect(configBlobs(parsed!.config)).toHaveLength(3);
  });

  it("a record for the empty filesystem has layer -1", () => {
    const b = new CacheConfigBuilder();
    b.add(record("scratch"), []);
    const parsed = parseCacheConfig(JSON.stringify(b.build()))!;
    expect(parsed.config.records[0]!.layer).toBe(-1);
    expect(chainOf(parsed.config, -1)).toEqual([]);
  });

  it("drops records whose key does not hash from their inputs (a forged or corrupted entry)", () => {
    const b = new CacheConfigBuilder();
    b.add(record("a"), [layer("a")]);
    b.add(record("b"), [layer("b")]);
    const config = JSON.parse(JSON.stringify(b.build())) as { records: { key: string }[] };
    config.records[1]!.key = sha256("forged");
    const parsed = parseCacheConfig(JSON.stringify(config))!;
    expect(parsed.dropped).toBe(1);
    expect(parsed.config.records).toHaveLength(1);
  });

  it("rejects malformed configs as a whole", () => {
    expect(parseCacheConfig("not json")).toBeUndefined();
    expect(parseCacheConfig(JSON.stringify({ v: 2, layers: [], records: [] }))).toBeUndefined();
    const bad = { v: 1, layers: [{ ...layer("x"), parent: 0 }], records: [] };
    expect(parseCacheConfig(JSON.stringify(bad))).toBeUndefined();
    const noDiff = { v: 1, layers: [{ digest: sha256("x"), size: 1, mediaType: "m", parent: -1 }], records: [] };
    expect(parseCacheConfig(JSON.stringify(noDiff))).toBeUndefined();
  });
});
