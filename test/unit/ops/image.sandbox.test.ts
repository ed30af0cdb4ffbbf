import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { Readable } from "node:stream";
import { hostPlatform } from "../../../src/frontend/index.js";
import { importRootfs, parseReference } from "../../../src/image/index.js";
import { asImageMetaResolver, createImageResolver } from "../../../src/ops/index.js";
import { startRegistry, type TestRegistry } from "../../helpers/registry.js";
import { tinyRootfsTar } from "../../helpers/rootfs.js";
import { requireSession } from "../../helpers/session.js";
import { BUSYBOX, imageVertex, openOpsRoot, runVertex, solveVertex, type OpsRoot } from "./harness.js";

let registry: TestRegistry;
let withBusybox: OpsRoot;
let empty: OpsRoot;
let name: string;
let pushedDigest: string;

beforeAll(async () => {
  requireSession();
  registry = await startRegistry();
  withBusybox = await openOpsRoot();
  empty = await openOpsRoot({ busybox: false });
  name = `${registry.host}/bb:latest`;
  // The registry has busybox under NAME; the local db has another image under the same NAME.
  const bb = await withBusybox.images.getImage(BUSYBOX);
  pushedDigest = (await withBusybox.registry.push(withBusybox.store, bb.target, parseReference(name))).digest;
  const tiny = await importRootfs(withBusybox.store, Readable.from([await tinyRootfsTar()]));
  await withBusybox.images.putImage(name, tiny.manifest);
});
afterAll(async () => {
  await withBusybox?.close();
  await empty?.close();
  await registry?.stop();
});

describe("image resolution", () => {
  it("prefers the local image db, and goes to the registry with pull", async () => {
    const local = await createImageResolver(withBusybox.deps()).resolve(name, hostPlatform());
    expect(local.origin).toBe("local");
    expect(local.manifest.digest).not.toBe(pushedDigest);
    expect(local.ref).toBe(`${name}@${local.manifest.digest}`);

    const pulled = await createImageResolver(withBusybox.deps({ imageResolve: { pull: true } })).resolve(name, hostPlatform());
    expect(pulled.origin).toBe("registry");
    expect(pulled.manifest.digest).toBe(pushedDigest);
    expect(pulled.layers.length).toBeGreaterThan(0);
    expect(pulled.config.rootfs.diff_ids).toEqual(pulled.layers.map((l) => l.diffId));

    // The frontend's view: pinned reference + config; memoized per build.
    const meta = asImageMetaResolver(createImageResolver(withBusybox.deps()));
    const bb = await meta.resolve(BUSYBOX, hostPlatform());
    expect(bb.ref).toMatch(/^docker\.io\/library\/busybox:latest@sha256:[0-9a-f]{64}$/);
    expect(bb.config.os).toBe("linux");
  });

  it("resolves from the registry with manifest and config only, and pulls layers when a step runs", async () => {
    const resolver = createImageResolver(empty.deps());
    const img = await resolver.resolve(name, hostPlatform());
    expect(img.origin).toBe("registry");
    expect(await empty.store.has(img.manifest.digest)).toBe(true);
    for (const l of img.layers) expect(await empty.store.has(l.descriptor.digest)).toBe(false);
    expect(await empty.images.findImage(name)).toBeUndefined();

    const v = runVertex(imageVertex(img.ref), "echo pulled-and-ran");
    const r = await solveVertex(empty, v);
    expect(r.logs).toBe("pulled-and-ran\n");
    for (const l of img.layers) expect(await empty.store.has(l.descriptor.digest)).toBe(true);
    const progress = r.events.filter((e) => e.type === "vertex.progress");
    expect(progress.length).toBeGreaterThan(0);
    const last = progress[progress.length - 1]!;
    expect(last.type === "vertex.progress" && last.current === last.total && last.total! > 0).toBe(true);
  });

  it("fails clearly for an image that exists nowhere", async () => {
    await expect(createImageResolver(empty.deps()).resolve(`${registry.host}/nope:1`, hostPlatform())).rejects.toMatchObject({
      code: expect.stringMatching(/^TSB_REGISTRY_/),
    });
  });
});
