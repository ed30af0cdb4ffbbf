import { describe, expect, it } from "@jest/globals";
import { TsbuildError, UsageError } from "../../../src/errors.js";
import { CancelledError, VertexError } from "../../../src/solver/errors.js";
import { LogRing } from "../../../src/progress/index.js";
import { renderError, execInfo } from "../../../src/cli/render-error.js";

function sink(): { stderr: NodeJS.WritableStream; text: () => string } {
  let text = "";
  const stderr = { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream;
  return { stderr, text: () => text };
}

/** What the exec op throws (duck-typed by the failure display). */
class FakeExecError extends TsbuildError {
  readonly exitCode: number;
  readonly command: readonly string[];
  constructor(exitCode: number, command: readonly string[]) {
    super("TSB_EXEC_FAILED", `exit code ${exitCode}`);
    this.exitCode = exitCode;
    this.command = command;
  }
}

const DOCKERFILE = ["FROM busybox", "WORKDIR /src", "COPY . .", "RUN make all", "RUN make install", "CMD [\"app\"]"].join("\n");
const vertex = {
  digest: "sha256:0123456789abcdef",
  name: "[3/4] RUN make install",
  source: [{ start: { line: 5, column: 1 }, end: { line: 5, column: 16 } }],
};

describe("renderError: failed build step", () => {
  it("shows the log tail, the Dockerfile lines with >>>, the command, its exit code and the full log", async () => {
    const ring = new LogRing();
    ring.write({ type: "vertex.started", vertex, time: 0 });
    for (let i = 1; i <= 25; i++) ring.write({ type: "vertex.log", digest: vertex.digest, stream: 2, data: Buffer.from(`out ${i}\n`), time: 1 });
    const { stderr, text } = sink();
    const err = new VertexError(vertex, new FakeExecError(2, ["/bin/sh", "-c", "make install"]));
    const code = await renderError(err, {
      debug: false,
      stderr,
      dockerfile: { filename: "Dockerfile", text: DOCKERFILE },
      logs: ring,
      logPath: () => "/var/lib/tsbuild/logs/0123456789ab.log",
    });
    expect(code).toBe(1);
    const tail = Array.from({ length: 20 }, (_, i) => `out ${i + 6}\n`).join("");
    expect(text()).toBe(
      "------\n > [3/4] RUN make install:\n" + tail + "------\n" +
        "Dockerfile:5\n" +
        "    3 | COPY . .\n" +
        "    4 | RUN make all\n" +
        ">>> 5 | RUN make install\n" +
        "    6 | CMD [\"app\"]\n\n" +
        'error: [3/4] RUN make install: process "/bin/sh -c make install" did not complete successfully: exit code: 2\n' +
        "full log: /var/lib/tsbuild/logs/0123456789ab.log\n" +
        "hint: the command failed inside the build; its output is above and in the full log\n",
    );
    expect(text()).not.toContain("    at ");
  });

  it("uses the error's own location and hint, and adds stack traces only with --debug", async () => {
    const inner = new TsbuildError("TSB_COPY_NOT_FOUND", "COPY source not found: app.js", {
      hint: "check the path and .dockerignore",
      location: { filename: "build/Dockerfile", text: "FROM a\nCOPY app.js /\n", ranges: [{ start: { line: 2, column: 1 }, end: { line: 2, column: 13 } }] },
    });
    const err = new VertexError({ digest: "sha256:ff", name: "[2/2] COPY app.js /" }, inner);
    const plain = sink();
    expect(await renderError(err, { debug: false, stderr: plain.stderr })).toBe(1);
    expect(plain.text()).toBe(
      "build/Dockerfile:2\n    1 | FROM a\n>>> 2 | COPY app.js /\n    3 | \n\n" +
        "error: [2/2] COPY app.js /: COPY source not found: app.js\nhint: check the path and .dockerignore\n",
    );
    const debug = sink();
    await renderError(err, { debug: true, stderr: debug.stderr });
    expect(debug.text()).toContain("VertexError: COPY source not found");
    expect(debug.text()).toContain("caused by: TsbuildError: COPY source not found");
    expect(debug.text()).toMatch(/\n {4}at /);
  });

  it("names a signal that killed the process", async () => {
    const { stderr, text } = sink();
    const cause = Object.assign(new Error("killed"), { signal: "SIGKILL", command: ["make"] });
    await renderError(new VertexError({ digest: "d", name: "RUN make" }, cause), { debug: false, stderr });
    expect(text()).toContain('error: RUN make: process "make" did not complete successfully: killed by signal SIGKILL\n');
  });

  it("reads exit code and command through the cause chain", () => {
    const deep = new Error("outer", { cause: new Error("mid", { cause: { exitCode: 127, command: ["nope"] } }) });
    expect(execInfo(deep)).toEqual({ exitCode: 127, command: ["nope"] });
    expect(execInfo(new Error("x"))).toEqual({});
  });
});

describe("renderError: other errors", () => {
  it("prints what Ctrl-C interrupted", async () => {
    const ring = new LogRing();
    ring.write({ type: "vertex.started", vertex: { digest: "a", name: "[2/3] RUN sleep 100" }, time: 1000 });
    ring.write({ type: "vertex.started", vertex: { digest: "b", name: "[stage 2/2] RUN make" }, time: 2000 });
    ring.write({ type: "vertex.error", digest: "b", error: "cancelled", time: 4500 });
    const { stderr, text } = sink();
    expect(await renderError(new CancelledError(), { debug: false, stderr, logs: ring, now: () => 5200 })).toBe(1);
    expect(text()).toBe("error: build cancelled\ninterrupted: [2/3] RUN sleep 100 after 4.2s\ninterrupted: [stage 2/2] RUN make after 2.5s\n");
  });

  it("exits 2 for usage errors and 1 for internal errors, with a hint to use --debug", async () => {
    const a = sink();
    expect(await renderError(new UsageError("unknown --progress value 'fancy'", { hint: "use auto, tty, plain, rawjson or quiet" }), { debug: false, stderr: a.stderr })).toBe(2);
    expect(a.text()).toBe("error: unknown --progress value 'fancy'\nhint: use auto, tty, plain, rawjson or quiet\n");
    const b = sink();
    expect(await renderError(new TypeError("x is undefined"), { debug: false, stderr: b.stderr })).toBe(1);
    expect(b.text()).toBe("error: x is undefined\nhint: this is an internal error of tsbuild; rerun with --debug for a stack trace and report it\n");
  });
});

describe("renderError: a source missing from the build context", () => {
  it("names the build context directory when the cause is a context not-found error", async () => {
    const { ContextNotFoundError } = await import("../../../src/context/index.js");
    const copy = { ...vertex, name: "[2/4] COPY app.txt /app" };
    const { stderr, text } = sink();
    const code = await renderError(new VertexError(copy, new ContextNotFoundError("app.txt", "does not exist")), { debug: false, stderr, contextDir: "/work/ctx" });
    expect(code).toBe(1);
    expect(text()).toContain('error: [2/4] COPY app.txt /app: "app.txt": does not exist (build context: /work/ctx)\n');
    const other = sink();
    await renderError(new VertexError(copy, new TsbuildError("TSB_OTHER", "something else")), { debug: false, stderr: other.stderr, contextDir: "/work/ctx" });
    expect(other.text()).not.toContain("build context:");
  });
});
