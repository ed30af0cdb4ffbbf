// Child process for the store's multi-process tests (bundled with esbuild by the tests; not a test itself).
import { setTimeout as sleep } from "node:timers/promises";
import { openContentStore } from "../../../src/store/index.js";
import { openImageStore } from "../../../src/image/index.js";
import type { Descriptor } from "../../../src/image/index.js";

const [mode, root, arg] = process.argv.slice(2);

if (mode === "slow-ingest") {
  const store = await openContentStore(root!);
  async function* slow(): AsyncIterable<Uint8Array> {
    for (let i = 0; ; i++) {
      yield Buffer.alloc(64 * 1024, i % 256);
      if (i === 4) process.stdout.write("started\n");
      await sleep(20);
    }
  }
  await store.ingest({}, slow());
} else if (mode === "tag-many") {
  const images = await openImageStore(root!);
  const target = JSON.parse(process.env.TARGET!) as Descriptor;
  for (let i = 0; i < 15; i++) {
    await images.store.putBytes(`worker ${arg} blob ${i}`);
    await images.putImage(`localhost:5000/w${arg}:t${i}`, target);
  }
  process.stdout.write("done\n");
}
