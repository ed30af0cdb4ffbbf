// Generated build contexts: a 20,000-file tree, big files (¾ text-like, ¼ random, like real layers), and copies
// of the reference Dockerfiles in bench/dockerfiles/.
import { randomFillSync } from "node:crypto";
import { closeSync, cpSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";

const dockerfiles = resolve(import.meta.dirname, "..", "dockerfiles");

/** Copy bench/dockerfiles/NAME to DIR (so builders never write into the repo). */
export function referenceContext(name, dir) {
  cpSync(join(dockerfiles, name), dir, { recursive: true });
  return dir;
}

/** 200 directories × 100 small files under DIR (sizes 8 B – 400 B). */
export function manyFiles(dir, files = 20000) {
  const perDir = 100;
  for (let i = 0; i < files; i++) {
    const d = join(dir, "src", `pkg${Math.floor(i / perDir)}`);
    if (i % perDir === 0) mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `file${i}.txt`), `file ${i}\n`.repeat(1 + (i % 40)));
  }
  return dir;
}

/** Write a file of `mb` MiB: ¾ of its 4 MiB blocks text-like, ¼ random (or all random). */
export function bigFile(path, mb, { random = false } = {}) {
  const block = 4 * 1024 * 1024;
  const text = Buffer.from("lorem ipsum dolor sit amet, consectetur adipiscing elit 0123456789\n".repeat(Math.ceil(block / 66))).subarray(0, block);
  const buf = Buffer.alloc(block);
  const fd = openSync(path, "w");
  try {
    let left = mb * 1024 * 1024;
    for (let i = 0; left > 0; i++) {
      const n = Math.min(block, left);
      if (random || i % 4 === 3) {
        randomFillSync(buf, 0, n);
        writeSync(fd, buf, 0, n);
      } else {
        // Vary the text per block so that no two blocks are identical.
        text.write(String(i).padStart(10, "0"), 0);
        writeSync(fd, text, 0, n);
      }
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

/** A context whose Dockerfile is `FROM busybox` plus `lines`. */
export function dockerfileContext(dir, lines) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), ["FROM busybox", ...lines, ""].join("\n"));
  return dir;
}
