/**
 * Faults between tsbuild and a real registry (test/helpers/fault-proxy): dropped and stalled connections mid-blob,
 * 500s and 429s. Pulls and pushes complete with verified digests, or fail with a clear error once the retry budget
 * is spent, leaving nothing half-written in the store.
 */
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openContentStore, type ContentStore } from "../../src/store/index.js";
import { parseReference } from "../../src/image/reference.js";
import { openRegistry, type Registry, type RegistryOptions } from "../../src/registry/index.js";
import type { Descriptor, Manifest } from "../../src/image/types.js";
import { startRegistry, writeTestImage, type TestRegistry } from "../helpers/registry.js";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy.js";

let tmp: string;
let reg: TestRegistry;
let proxy: FaultProxy;
let src: ContentStore;
let image: Descriptor;
const opened: Registry[] = [];

function session(opts: RegistryOptions = {}): Registry {
  const r = openRegistry({ ...opts, retry: { baseDelayMs: 5, maxDelayMs: 2000, ...opts.retry } });
  opened.push(r);
  return r;
}
async function newStore(): Promise<ContentStore> {
  return openContentStore(await mkdtemp(join(tmp, "root-")));
}
async function expectComplete(dst: ContentStore, desc: Descriptor): Promise<void> {
  const m = JSON.parse((await dst.readBytes(desc.digest)).toString()) as Manifest;
  for (const d of [m.config, ...m.layers]) expect((await dst.verify(d.digest)).ok).toBe(true);
}
async function expectNothingHalfWritten(dst: ContentStore, desc: Descriptor): Promise<void> {
  expect({ where: dst.layout.root, ingest: await readdir(dst.layout.ingest).catch(() => []) }).toEqual({ where: dst.layout.root, ingest: [] });
  expect(await dst.has(desc.digest)).toBe(false);
  for await (const b of dst.list()) expect((await dst.verify(b.digest)).ok).toBe(true);
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tsbuild-regfault-"));
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.host);
  src = await newStore();
  // Two ~1.5 MB layers (random, so gzip cannot shrink them).
  image = await writeTestImage(src, { layers: 2, filesPerLayer: 3, fileBytes: 500_000 });
  await session().push(src, image, parseReference(`${reg.host}/faults/app:1`));
});
afterAll(async () => {
  for (const r of opened) await r.close();
  await proxy?.stop();
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const viaProxy = (tag = "1") => parseReference(`${proxy.host}/faults/app:${tag}`);

describe("pull through faults", () => {
  it("resumes a blob when the connection drops mid-blob", async () => {
    const dst = await newStore();
    const before = proxy.stats.dropped;
    proxy.dropNext(700_000);
    const res = await session().pull(viaProxy(), dst);
    expect(proxy.stats.dropped).toBe(before + 1);
    expect(res.manifest.digest).toBe(image.digest);
    await expectComplete(dst, image);
  });

  it("resumes a stalled transfer after the body timeout", async () => {
    const dst = await newStore();
    proxy.stallNext(400_000);
    const res = await session({ timeouts: { bodyMs: 400 } }).pull(viaProxy(), dst);
    expect(proxy.stats.stalled).toBeGreaterThanOrEqual(1);
    expect(res.manifest.digest).toBe(image.digest);
    await expectComplete(dst, image);
  });

  it("retries 500s and honours Retry-After on 429", async () => {
    const dst = await newStore();
    proxy.failNext(2, 500);
    await session().pull(viaProxy(), dst);
    await expectComplete(dst, image);

    const dst2 = await newStore();
    proxy.failNext(1, 429, { "Retry-After": "1" });
    const t0 = Date.now();
    await session().pull(viaProxy(), dst2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    await expectComplete(dst2, image);
  });

  it("fails clearly once the retry budget is spent, leaving nothing half-written", async () => {
    const dst = await newStore();
    proxy.failNext(50, 503);
    const err = await session({ retry: { maxAttempts: 3, budget: 4 } }).pull(viaProxy(), dst).catch((e: unknown) => e);
    proxy.failNext(0, 503);
    expect(err).toMatchObject({ code: "TSB_REGISTRY_SERVER_ERROR", status: 503 });
    expect((err as Error).message).toContain(proxy.host);
    await expectNothingHalfWritten(dst, image);

    const dst2 = await newStore();
    proxy.dropNext(300_000, { count: 20 });
    const err2 = await session({ retry: { budget: 0 } }).pull(viaProxy(), dst2).catch((e: unknown) => e);
    proxy.dropNext(0, { count: 0 });
    expect(err2).toMatchObject({ code: "TSB_REGISTRY_UNREACHABLE" });
    expect((err2 as Error).message).toMatch(/downloading blob sha256:[0-9a-f]{64}/);
    await expectNothingHalfWritten(dst2, image);
  });
});

describe("push through faults", () => {
  it("completes despite 500s and a connection dropped mid-upload", async () => {
    const local = await newStore();
    const desc = await writeTestImage(local, { layers: 2, filesPerLayer: 2, fileBytes: 400_000 });
    proxy.failNext(2, 500);
    await session().push(local, desc, viaProxy("p1"));

    const desc2 = await writeTestImage(local, { layers: 1, filesPerLayer: 2, fileBytes: 400_000 });
    const before = proxy.stats.dropped;
    proxy.dropNext(300_000, { direction: "up" });
    const res = await session().push(local, desc2, viaProxy("p2"));
    expect(proxy.stats.dropped).toBe(before + 1);
    expect(res.digest).toBe(desc2.digest);
    const dst = await newStore();
    await session().pull(parseReference(`${reg.host}/faults/app:p2`), dst);
    await expectComplete(dst, desc2);
  });
});
