import { describe, it, expect } from "@jest/globals";
import { urlSourceName } from "../../../src/frontend/dispatch-copy.js";
import { compileText } from "../../../src/frontend/index.js";
import type { FileOp, Vertex } from "../../../src/graph/index.js";

describe("ADD <url> file names (BuildKit: path.Base of the decoded URL path)", () => {
  it("decodes percent-escapes and ignores the query and the fragment", () => {
    expect(urlSourceName("http://h/a/my%20file.txt")).toBe("my file.txt");
    expect(urlSourceName("http://h/100%25.txt")).toBe("100%.txt");
    expect(urlSourceName("http://h/%C3%BCn%C3%AF.txt")).toBe("ünï.txt");
    expect(urlSourceName("http://h/a/b.tgz?x=1&y=2#frag")).toBe("b.tgz");
    expect(urlSourceName("http://h/dir/")).toBe("dir");
    expect(urlSourceName("http://h/a/%2Fx")).toBe("x");
  });

  it("is __unnamed__ without a path or for a URL that does not parse", () => {
    expect(urlSourceName("http://h")).toBe("__unnamed__");
    expect(urlSourceName("http://h/")).toBe("__unnamed__");
    expect(urlSourceName("http://h/bad%zz")).toBe("__unnamed__");
  });

  it("passes no --chmod to the copy of a URL (Docker 20.10: it keeps 0600), but does for a context file", async () => {
    const amd64 = { os: "linux", architecture: "amd64" };
    const r = await compileText("FROM scratch\nADD --chmod=755 --chown=1:2 http://example.com/x.sh f.sh /bin/\n", {
      targetPlatform: amd64, buildPlatform: amd64,
      resolver: { resolve: async () => Promise.reject(new Error("FROM scratch resolves nothing")) },
    });
    const [url, local] = (r.root!.vertex.op as FileOp).actions as unknown as { chmod?: unknown; chown?: unknown }[];
    expect([url!.chmod, url!.chown]).toEqual([undefined, { user: "1", group: "2" }]);
    expect(local!.chmod).toBeDefined();
  });

  it("names the downloaded file and the copy source after it", async () => {
    const amd64 = { os: "linux", architecture: "amd64" };
    const r = await compileText("FROM scratch\nADD http://example.com/my%20file.txt /dl/\n", {
      targetPlatform: amd64, buildPlatform: amd64,
      resolver: { resolve: async () => Promise.reject(new Error("FROM scratch resolves nothing")) },
    });
    const file = r.root!.vertex.op as FileOp;
    const copy = file.actions[0] as { srcPath?: string; src?: number };
    expect(copy.srcPath).toBe("my file.txt");
    const http = r.root!.vertex.inputs.map((e) => e.vertex).find((v: Vertex) => v.op.kind === "source")!;
    expect(http.op).toMatchObject({ source: { type: "http", url: "http://example.com/my%20file.txt", filename: "my file.txt" } });
  });
});
