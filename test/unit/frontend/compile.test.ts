import { describe, it, expect } from "@jest/globals";
import { compileText, type ImageMetaResolver, type CompileTextOptions } from "../../../src/frontend/index.js";
import type { ExecOp, FileOp, Vertex } from "../../../src/graph/index.js";

const D = (c: string): string => `sha256:${c.repeat(64)}`;
const resolver: ImageMetaResolver = {
  resolve: async (ref, platform) => ({
    ref: `${ref}@${D("a")}`,
    config: {
      architecture: platform.architecture,
      os: platform.os,
      rootfs: { type: "layers", diff_ids: [D("b") as never] },
      config: { Env: ["PATH=/usr/bin:/bin"], Cmd: ["sh"], WorkingDir: "/base" },
      history: [{ created_by: "base" }],
    },
  }),
};
const amd64 = { os: "linux", architecture: "amd64" };
const compile = (text: string, o: Partial<CompileTextOptions> = {}) => compileText(text, { resolver, targetPlatform: amd64, buildPlatform: amd64, ...o });
const execOf = (v: Vertex | undefined): ExecOp => v!.op as ExecOp;

describe("image config", () => {
  it("computes env, cmd/entrypoint, workdir, user, ports, volumes, labels, stopsignal, healthcheck, shell", async () => {
    const r = await compile(`FROM busybox
ENV A=1 B="two words"
LABEL a=b "c d"=e
WORKDIR app
WORKDIR sub
USER nobody:nogroup
EXPOSE 80 53/udp 8000-8001
VOLUME /data /logs
STOPSIGNAL SIGINT
HEALTHCHECK --interval=30s --retries=3 CMD wget -q localhost
SHELL ["/bin/bash", "-c"]
ENTRYPOINT ["tini"]
MAINTAINER me@example.com
`);
    const c = r.image.config!;
    expect(c.Env).toEqual(["PATH=/usr/bin:/bin", "A=1", "B=two words"]);
    expect(c.Labels).toEqual({ a: "b", "c d": "e" });
    expect(c.WorkingDir).toBe("/base/app/sub");
    expect(c.User).toBe("nobody:nogroup");
    expect(Object.keys(c.ExposedPorts!)).toEqual(["53/udp", "80/tcp", "8000/tcp", "8001/tcp"]);
    expect(Object.keys(c.Volumes!).sort()).toEqual(["/data", "/logs"]);
    expect(c.StopSignal).toBe("SIGINT");
    expect(c.Healthcheck).toEqual({ Test: ["CMD-SHELL", "wget -q localhost"], Interval: 30e9, Retries: 3 });
    expect(c.Shell).toEqual(["/bin/bash", "-c"]);
    expect(c.Entrypoint).toEqual(["tini"]);
    expect(c.Cmd).toBeUndefined(); // ENTRYPOINT resets the base image's CMD
    expect(r.image.author).toBe("me@example.com");
    expect(r.image.rootfs.diff_ids).toEqual([D("b")]);
    const h = r.image.history!.map((e) => e.created_by);
    expect(h).toEqual([
      "base",
      "ENV A=1 B=two words",
      "LABEL a=b c d=e",
      "WORKDIR /base/app",
      "WORKDIR /base/app/sub",
      "USER nobody:nogroup",
      "EXPOSE map[53/udp:{} 80/tcp:{} 8000/tcp:{} 8001/tcp:{}]",
      "VOLUME [/data /logs]",
      "STOPSIGNAL SIGINT",
      `HEALTHCHECK &{["CMD-SHELL" "wget -q localhost"] "30s" "0s" "0s" '\\x03'}`,
      "SHELL [/bin/bash -c]",
      'ENTRYPOINT ["tini"]',
      "MAINTAINER me@example.com",
    ]);
    expect(r.image.history![1]).toEqual({ created_by: "ENV A=1 B=two words", comment: "buildkit.dockerfile.v0", empty_layer: true });
    expect(r.image.history![3]!.empty_layer).toBeUndefined();
  });

  it("keeps CMD when set after ENTRYPOINT and writes RUN/COPY history like Docker's BuildKit", async () => {
    const r = await compile(`FROM busybox
ARG V=1
ARG W
RUN make $V
ENTRYPOINT ["a"]
CMD echo hi
COPY --chown=1:2 a b /dst/
`);
    expect(r.image.config!.Entrypoint).toEqual(["a"]);
    expect(r.image.config!.Cmd).toEqual(["/bin/sh", "-c", "echo hi"]);
    expect(r.image.config!.ArgsEscaped).toBe(true);
    const h = r.image.history!.map((e) => e.created_by);
    expect(h).toEqual(expect.arrayContaining(["ARG V=1", "ARG W"]));
    expect(h).toContain("RUN |2 V=1 W= /bin/sh -c make $V # buildkit");
    expect(h).toContain('CMD ["/bin/sh" "-c" "echo hi"]');
    expect(h).toContain("COPY a b /dst/ # buildkit"); // Docker 20.10 leaves --chown/--chmod out
  });

  it("keeps an absolute WORKDIR as written in WorkingDir and history, cleans a relative one (Docker 20.10)", async () => {
    const r = await compile("FROM busybox\nWORKDIR /p/./q/\nRUN pwd\nWORKDIR sub/../s2/\nWORKDIR /w//x/\n");
    expect(r.image.config!.WorkingDir).toBe("/w//x/");
    const h = r.image.history!.map((e) => e.created_by);
    expect(h).toEqual(expect.arrayContaining(["WORKDIR /p/./q/", "WORKDIR /p/q/s2", "WORKDIR /w//x/"]));
    const run = r.graph.vertices.find((v) => v.op.kind === "exec");
    expect(execOf(run).meta.cwd).toBe("/p/q");
    const mkdirs = r.graph.vertices.flatMap((v) => (v.op.kind === "file" ? (v.op as FileOp).actions : [])).map((a) => (a as { path?: string }).path);
    expect(mkdirs).toEqual(expect.arrayContaining(["/p/q", "/p/q/s2", "/w/x"]));
  });

  it("leaves Cmd and Entrypoint out of the config after CMD [] and ENTRYPOINT [] (Go omitempty)", async () => {
    const r = await compile(`FROM busybox AS b
ENTRYPOINT ["e"]
CMD ["c"]
FROM b
CMD []
ENTRYPOINT []
`);
    expect(r.image.config!.Cmd).toBeUndefined();
    expect(r.image.config!.Entrypoint).toBeUndefined();
    expect(r.image.history!.map((e) => e.created_by)).toEqual(expect.arrayContaining(["CMD []", "ENTRYPOINT []"]));
  });

  it("FROM scratch gives the empty image and no root", async () => {
    const r = await compile("FROM scratch\nENV X=1\n");
    expect(r.root).toBeNull();
    expect(r.image.config!.Env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "X=1"]);
    expect(r.image.config!.WorkingDir).toBe("/");
  });
});

describe("ARG scoping", () => {
  it("global ARGs reach FROM only unless redeclared; build args win; ENV wins over ARG", async () => {
    const text = `ARG TAG=1.36
ARG G=global
FROM busybox:$TAG
RUN echo "$G"
ARG G
ARG TAG
RUN echo $G $TAG
ENV G=env
RUN echo $G
`;
    const r = await compile(text, { buildArgs: { TAG: "1.37" } });
    const runs = r.graph.vertices.filter((v) => v.op.kind === "exec");
    expect(r.graph.vertices[0]!.op).toMatchObject({ source: { ref: `docker.io/library/busybox:1.37@${D("a")}` } });
    expect(execOf(runs[0]).meta.env).not.toContain("G=global");
    expect(execOf(runs[1]).meta.env).toEqual(expect.arrayContaining(["G=global", "TAG=1.37"]));
    expect(execOf(runs[2]).meta.env).toContain("G=env");
    expect(runs[1]!.options.name).toBe("[3/4] RUN echo global 1.37");
    expect(r.findings).toEqual([]); // RUN lines are expanded by the shell, not checked
  });

  it("writes ARG and RUN history as Docker 20.10 does: declared defaults, every declaration counted", async () => {
    const text = `ARG G=global
FROM busybox
ARG G
ARG L=one
ARG L=two
ARG B=default-$NOPE
RUN true
`;
    const r = await compile(text, { buildArgs: { B: "from-cli" } });
    const h = r.image.history!.map((e) => e.created_by);
    expect(h).toEqual(expect.arrayContaining(["ARG G", "ARG L=one", "ARG L=two", "ARG B=default-"]));
    expect(r.findings).toEqual([]); // an overridden default is not checked
    expect(h).toContain("RUN |4 G=global L=two L=two B=from-cli /bin/sh -c true # buildkit");
    expect(execOf(r.root!.vertex).meta.env).toEqual(expect.arrayContaining(["G=global", "L=two", "B=from-cli"]));
  });

  it("provides automatic platform ARGs when declared", async () => {
    const r = await compile("FROM --platform=$BUILDPLATFORM busybox\nARG TARGETARCH\nARG BUILDOS\nRUN echo $TARGETARCH\n", {
      targetPlatform: { os: "linux", architecture: "arm64" },
    });
    const run = r.graph.vertices.find((v) => v.op.kind === "exec")!;
    expect(execOf(run).meta.env).toEqual(expect.arrayContaining(["TARGETARCH=arm64", "BUILDOS=linux"]));
    expect(r.graph.vertices[0]!.op).toMatchObject({ source: { platform: amd64 } });
  });

  it("lets a global ARG without default shadow an automatic platform ARG (Docker 20.10)", async () => {
    const r = await compile("ARG TARGETOS\nFROM busybox\nARG TARGETOS\nARG TARGETARCH\nRUN echo $TARGETOS\nLABEL os=$TARGETOS\n");
    const run = r.graph.vertices.find((v) => v.op.kind === "exec")!;
    expect(execOf(run).meta.env).toContain("TARGETARCH=amd64");
    expect(execOf(run).meta.env.some((e) => e.startsWith("TARGETOS="))).toBe(false);
    expect(r.image.config!.Labels).toEqual({ os: "" });
    expect(r.image.history!.map((e) => e.created_by)).toContain("RUN |2 TARGETOS= TARGETARCH=amd64 /bin/sh -c echo $TARGETOS # buildkit");
  });

  it("keeps a parent stage's ARG values in the environment but not in the RUN history", async () => {
    const r = await compile("FROM busybox AS a\nARG X=1\nFROM a\nARG Y=2\nRUN echo $X $Y\n");
    expect(execOf(r.root!.vertex).meta.env).toEqual(expect.arrayContaining(["X=1", "Y=2"]));
    expect(r.image.history!.map((e) => e.created_by)).toContain("RUN |1 Y=2 /bin/sh -c echo $X $Y # buildkit");
  });

  it("keeps undeclared proxy build args out of the digest and history; declared ones are ARGs too (Docker 20.10)", async () => {
    const text = "FROM busybox\nENV http_proxy=http://env:1\nRUN wget x\n";
    const a = await compile(text, { buildArgs: { HTTP_PROXY: "http://p1:3128", no_proxy: "localhost", ALL_PROXY: "socks5://x" } });
    const b = await compile(text, { buildArgs: { HTTP_PROXY: "http://p2:3128" } });
    expect(a.root!.vertex.digest).toBe(b.root!.vertex.digest);
    // ALL_PROXY is no proxy variable in 20.10: an undeclared build arg like any other
    expect(execOf(a.root!.vertex).proxyEnv).toEqual({ HTTP_PROXY: "http://p1:3128", NO_PROXY: "localhost" });
    expect(execOf(a.root!.vertex).meta.env).toContain("http_proxy=http://env:1");
    expect(a.image.history!.map((h) => h.created_by).join("\n")).not.toContain("p1");

    const declared = await compile("FROM busybox\nARG HTTP_PROXY\nRUN wget x\n", { buildArgs: { HTTP_PROXY: "http://p1:3128" } });
    expect(declared.image.history!.map((h) => h.created_by)).toEqual(expect.arrayContaining(["ARG HTTP_PROXY", "RUN |1 HTTP_PROXY=http://p1:3128 /bin/sh -c wget x # buildkit"]));
    expect(execOf(declared.root!.vertex).meta.env).toContain("HTTP_PROXY=http://p1:3128");
  });
});

describe("stages and graph", () => {
  const text = `FROM busybox AS base
RUN echo base
FROM base AS Build
RUN make
FROM busybox AS other
RUN echo other
FROM busybox
COPY --from=build /out /out
COPY --from=0 /etc/passwd /p
COPY --from=alpine:3 /etc/os-release /r
`;
  it("prunes unused stages and follows --from by name (case-insensitive), index and image", async () => {
    const r = await compile(text);
    expect(r.stages.map((s) => s.name)).toEqual(["base", "build", "stage-3"]);
    const names = r.graph.vertices.map((v) => v.options.name);
    expect(names.some((n) => n.includes("echo other"))).toBe(false);
    expect(names.some((n) => n.includes("alpine"))).toBe(true);
  });

  it("--target selects a stage", async () => {
    const r = await compile(text, { target: "BUILD" });
    expect(r.target.name).toBe("build");
    expect(r.root!.vertex.options.name).toBe("[build 1/1] RUN make");
    await expect(compile(text, { target: "buidl" })).rejects.toMatchObject({ code: "TSB_FRONTEND_UNKNOWN_TARGET", hint: "did you mean build?" });
  });

  it("digests are stable and change with any instruction", async () => {
    const a = await compile(text);
    const b = await compile(text);
    expect(a.root!.vertex.digest).toBe(b.root!.vertex.digest);
    const c = await compile(text.replace("RUN make", "RUN make all"));
    expect(c.root!.vertex.digest).not.toBe(a.root!.vertex.digest);
    const d = await compile(text.replace("echo other", "echo changed"));
    expect(d.root!.vertex.digest).toBe(a.root!.vertex.digest);
  });

  it("errors on unknown stages, forward copies and cycles, with location", async () => {
    await expect(compile("FROM busybox\nCOPY --from=9 /a /b\n")).rejects.toMatchObject({ code: "TSB_FRONTEND_UNKNOWN_STAGE" });
    await expect(compile("FROM busybox\nCOPY --from=Not_A_Stage /a /b\n")).rejects.toMatchObject({ code: "TSB_FRONTEND_UNKNOWN_STAGE", location: { ranges: [expect.objectContaining({ start: expect.objectContaining({ line: 2 }) })] } });
    await expect(compile("FROM busybox AS a\nCOPY --from=b /x /y\nFROM busybox AS b\nCOPY --from=a /x /y\n")).rejects.toMatchObject({ code: "TSB_FRONTEND_CIRCULAR" });
    await expect(compile("FROM busybox AS a\nCOPY --from=b /x /y\nFROM busybox AS b\n", { target: "a" })).rejects.toMatchObject({ code: "TSB_FRONTEND_STAGE_ORDER" });
  });

  it("builds RUN mounts, COPY --link merges and heredocs", async () => {
    const r = await compile(`FROM busybox AS src
FROM busybox
RUN --mount=type=cache,target=/root/.cache,id=c1 --mount=type=secret,id=tok --mount=type=bind,from=src,source=/etc,target=/e --mount=type=tmpfs,target=/t,size=1m true
COPY --link a /a
RUN <<EOF
echo hi
EOF
`);
    const runs = r.graph.vertices.filter((v) => v.op.kind === "exec");
    const mounts = execOf(runs[0]).mounts;
    expect(mounts.map((m) => m.type)).toEqual(["bind", "cache", "secret", "bind", "tmpfs"]);
    expect(mounts[1]).toMatchObject({ dest: "/root/.cache", cache: { id: "c1", sharing: "shared" }, input: null });
    expect(mounts[2]).toEqual({ type: "secret", dest: "/run/secrets/tok", secret: { id: "tok", required: false, mode: 0o400, uid: 0, gid: 0 } });
    expect(mounts[3]).toMatchObject({ dest: "/e", selector: "/etc", readonly: true });
    expect(mounts[4]).toEqual({ type: "tmpfs", dest: "/t", size: 1024 * 1024 });
    expect(r.graph.vertices.some((v) => v.op.kind === "merge" && v.options.name.includes("LINK COPY --link a /a"))).toBe(true);
    expect(execOf(runs[1]).meta.args).toEqual(["/bin/sh", "-c", "echo hi\n"]);
    const copy = r.graph.vertices.find((v) => v.op.kind === "file" && (v.op as FileOp).actions[0]?.action === "copy")!;
    expect((copy.op as FileOp).base).toBeNull();
  });

  it("RUN ssh mounts: BuildKit's default targets, options, and SSH_AUTH_SOCK at the first unless the stage sets it", async () => {
    const r = await compile(`FROM busybox
RUN --mount=type=ssh --mount=type=ssh,id=gh,required=true,uid=1000,gid=1001,mode=0640 true
RUN --mount=type=ssh,target=/agent,required=false true
ENV SSH_AUTH_SOCK=/mine
RUN --mount=type=ssh true
RUN true
`);
    const runs = r.graph.vertices.filter((v) => v.op.kind === "exec").map(execOf);
    expect(runs[0]!.mounts.slice(1)).toEqual([
      { type: "ssh", dest: "/run/buildkit/ssh_agent.0", ssh: { id: "default", required: false, mode: 0o600, uid: 0, gid: 0 } },
      { type: "ssh", dest: "/run/buildkit/ssh_agent.1", ssh: { id: "gh", required: true, mode: 0o640, uid: 1000, gid: 1001 } },
    ]);
    const sock = (op: ExecOp) => op.meta.env.filter((e) => e.startsWith("SSH_AUTH_SOCK="));
    expect(sock(runs[0]!)).toEqual(["SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0"]);
    expect(sock(runs[1]!)).toEqual(["SSH_AUTH_SOCK=/agent"]);
    expect(sock(runs[2]!)).toEqual(["SSH_AUTH_SOCK=/mine"]);
    expect(sock(runs[3]!)).toEqual(["SSH_AUTH_SOCK=/mine"]);
    // Never in the image's config: it belongs to the step.
    expect(r.image.config?.Env?.filter((e) => e.includes("ssh_agent"))).toEqual([]);
  });

  it("runs ONBUILD triggers of base images and base stages", async () => {
    const onbuildResolver: ImageMetaResolver = {
      resolve: async (ref, p) => ({ ref, config: { architecture: p.architecture, os: p.os, rootfs: { type: "layers", diff_ids: [D("c") as never] }, config: { OnBuild: ["RUN echo triggered"] } } }),
    };
    const r = await compile("FROM busybox\nRUN echo mine\n", { resolver: onbuildResolver });
    const names = r.graph.vertices.map((v) => v.options.name);
    expect(names).toContain("[2/3] ONBUILD RUN echo triggered");
    expect(r.image.config!.OnBuild).toBeUndefined();
    const s = await compile("FROM busybox AS b\nONBUILD RUN echo t\nFROM b\n");
    expect(s.image.config!.OnBuild).toBeUndefined();
    expect(s.root!.vertex.options.name).toContain("ONBUILD RUN echo t");
  });
});

describe("named contexts", () => {
  it("COPY --from=NAME reads the --build-context NAME, which replaces a stage of that name", async () => {
    const r = await compile("FROM busybox\nCOPY --from=extra a.txt /a.txt\n", { namedContexts: ["extra"] });
    const copy = r.root!.vertex;
    expect((copy.op as FileOp).kind).toBe("file");
    const sources = copy.inputs.map((e) => e.vertex.op).filter((op) => op.kind === "source");
    expect(sources).toEqual(expect.arrayContaining([{ kind: "source", source: { type: "local", name: "extra" } }]));
    // The context replaces a stage of the same name (BuildKit: "a stage with the same name is overwritten");
    // without the context the name is an image.
    const staged = await compile("FROM busybox AS extra\nRUN true\nFROM busybox\nCOPY --from=extra a.txt /a.txt\n", { namedContexts: ["extra"] });
    expect(staged.root!.vertex.inputs.some((e) => e.vertex.op.kind === "exec")).toBe(false);
    const ctxStage = staged.root!.vertex.inputs.find((e) => e.vertex.op.kind === "file")!.vertex; // scratch + the directory
    expect(ctxStage.inputs.map((e) => e.vertex.op)).toEqual([{ kind: "source", source: { type: "local", name: "extra" } }]);
    const plain = await compile("FROM busybox AS extra\nRUN true\nFROM busybox\nCOPY --from=extra a.txt /a.txt\n");
    expect(plain.root!.vertex.inputs.some((e) => e.vertex.op.kind === "exec")).toBe(true);
    const image = await compile("FROM busybox\nCOPY --from=extra a.txt /a.txt\n");
    expect(image.root!.vertex.inputs.some((e) => e.vertex.op.kind === "source" && (e.vertex.op as { source: { type: string } }).source.type === "image")).toBe(true);
  });
});

describe("--add-host", () => {
  it("puts the entries in every RUN's meta, so they are part of its cache key", async () => {
    const text = "FROM busybox\nRUN true\nRUN echo hi\n";
    const hosts = [{ host: "db", ip: "10.0.0.5" }];
    const plain = await compile(text);
    const withHosts = await compile(text, { extraHosts: hosts });
    const runs = (r: typeof plain) => {
      const out: ExecOp[] = [];
      for (let v = r.root!.vertex; v.op.kind === "exec"; v = v.inputs[0]!.vertex) out.push(v.op as ExecOp);
      return out;
    };
    expect(runs(withHosts).map((op) => op.meta.extraHosts)).toEqual([hosts, hosts]);
    expect(runs(plain).every((op) => op.meta.extraHosts === undefined)).toBe(true);
    expect(withHosts.root!.vertex.digest).not.toBe(plain.root!.vertex.digest);
  });
});
