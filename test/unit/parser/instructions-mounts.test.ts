import { describe, it, expect } from "@jest/globals";
import { parseMount, splitCsvFields, checkMountRaw, type Mount } from "../../../src/parser/mounts.js";
import { expandWord } from "../../../src/parser/expand.js";
import { InstructionError } from "../../../src/parser/instructions-errors.js";

describe("splitCsvFields", () => {
  it.each<[string, string[]]>([
    ["", []],
    ["a", ["a"]],
    ["a,b", ["a", "b"]],
    ["a,", ["a", ""]],
    [',a', ["", "a"]],
    ['"a,b",c', ["a,b", "c"]],
    ['"target=/x,y",ro', ["target=/x,y", "ro"]],
    ['"say ""hi""",x', ['say "hi"', "x"]],
  ])("%j", (raw, fields) => {
    expect(splitCsvFields(raw)).toEqual(fields);
  });
  it.each(['"a', '"a"b', 'a"b'])("rejects %j", (raw) => {
    expect(() => splitCsvFields(raw)).toThrow(InstructionError);
  });
});

describe("parseMount", () => {
  it.each<[string, Mount]>([
    ["target=/x", { type: "bind", readOnly: true, required: false, target: "/x" }],
    ["type=bind,source=/s,target=/t,rw", { type: "bind", readOnly: false, required: false, source: "/s", target: "/t" }],
    ["type=bind,from=build,src=/out,dst=/in,readwrite=true", { type: "bind", readOnly: false, required: false, from: "build", source: "/out", target: "/in" }],
    ["type=cache,target=/root/.cache", { type: "cache", readOnly: false, required: false, target: "/root/.cache" }],
    [
      "type=cache,id=go,sharing=locked,target=/go,mode=0755,uid=1000,gid=1000,ro",
      { type: "cache", readOnly: true, required: false, id: "go", sharing: "locked", target: "/go", mode: 0o755, uid: 1000, gid: 1000 },
    ],
    ["TYPE=CACHE,Target=/c,SHARING=Private", { type: "cache", readOnly: false, required: false, target: "/c", sharing: "private" }],
    ["type=tmpfs,target=/tmp,size=64m", { type: "tmpfs", readOnly: false, required: false, target: "/tmp", sizeLimit: 64 * 1024 * 1024 }],
    ["type=tmpfs,destination=/t,size=1.5GiB", { type: "tmpfs", readOnly: false, required: false, target: "/t", sizeLimit: 1.5 * 1024 ** 3 }],
    ["type=tmpfs,dst=/t,size=4096", { type: "tmpfs", readOnly: false, required: false, target: "/t", sizeLimit: 4096 }],
    ["type=secret,id=npm", { type: "secret", readOnly: true, required: false, id: "npm" }],
    ["type=secret,id=tok,env=TOKEN,required", { type: "secret", readOnly: true, required: true, id: "tok", env: "TOKEN" }],
    ["type=secret,target=/run/secrets/x,required=false,mode=0400", { type: "secret", readOnly: true, required: false, target: "/run/secrets/x", mode: 0o400 }],
    ["type=ssh", { type: "ssh", readOnly: true, required: false }],
    ["type=ssh,id=gh,required=true,readonly=false", { type: "ssh", readOnly: false, required: true, id: "gh" }],
  ])("%s", (raw, mount) => {
    expect(parseMount(raw)).toEqual(mount);
  });

  it.each([
    ["type=volume,target=/x", 'unsupported mount type "volume"'],
    ["type=tmpf,target=/x", 'unsupported mount type "tmpf" (did you mean tmpfs?)'],
    ["type=cache,sharing=exclusive,target=/x", 'unsupported sharing value "exclusive"'],
    ["type=cache,target=/x,bogus=1", "unexpected key 'bogus' in 'bogus=1'"],
    ["type=cache,target=/x,uidd=1", "unexpected key 'uidd' in 'uidd=1' (did you mean uid?)"],
    ["type=cache,target=/x,nonsense", "invalid field 'nonsense' must be a key=value pair"],
    ["type=bind,target=/x,required", "unexpected key 'required' for mount type 'bind'"],
    ["required=true,type=secret,id=x", "unexpected key 'required' for mount type 'bind'"],
    ["type=cache,target=/x,size=1m", "unexpected key 'size' for mount type 'cache'"],
    ["type=tmpfs,target=/x,size=lots", "invalid value for size: lots"],
    ["type=bind,target=/x,ro=maybe", "invalid value for ro: maybe"],
    ["type=cache,target=/x,mode=0999", "invalid value 0999 for mode"],
    ["type=cache,target=/x,uid=-1", "invalid value -1 for uid"],
    ["type=cache,target=/x,gid=4294967296", "invalid value 4294967296 for gid"],
    ["type=bind,target=/x,mode=0644", 'mode not allowed for "bind" type mounts'],
    ["type=tmpfs,target=/x,uid=0", 'uid not allowed for "tmpfs" type mounts'],
    ["type=secret,id=x,from=img", "secret mount should not have a from"],
    ["type=secret,id=x,sharing=shared", "secret mount should not define sharing"],
    ["type=secret", "invalid secret mount. one of source, target required"],
    ["type=secret,source=a,id=b", "both source and id can't be set"],
    ["type=bind,target=/x,sharing=shared", "invalid cache sharing set for bind mount"],
  ])("%s → %s", (raw, message) => {
    let err: unknown;
    try {
      parseMount(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InstructionError);
    expect((err as InstructionError).code).toBe("TSB_INSTR_MOUNT");
    expect((err as InstructionError).message).toBe(`RUN --mount: ${message}`);
    expect((err as InstructionError).hint).toBeTruthy();
  });

  it("expands every value with the given expander, never the keys", () => {
    const env = new Map([["T", "cache"], ["DIR", "/c"], ["M", "0700"]]);
    const m = parseMount("type=$T,target=${DIR}/x,mode=$M,id=${ID:-default}", (w) => expandWord(w, env));
    expect(m).toEqual({ type: "cache", readOnly: false, required: false, target: "/c/x", mode: 0o700, id: "default" });
  });
});

describe("checkMountRaw", () => {
  it("validates values without variables at parse time", () => {
    expect(() => checkMountRaw("type=cache,target=/x,sharing=nope")).toThrow("unsupported sharing value");
  });
  it("defers values with variables to dispatch time", () => {
    expect(() => checkMountRaw("type=$T,target=/x,sharing=$S")).not.toThrow();
  });
  it("rejects variables in from=, except a trailing $", () => {
    expect(() => checkMountRaw("from=${STAGE}")).toThrow("'from' doesn't support variable expansion");
    expect(() => checkMountRaw("from=x$,target=/x")).not.toThrow();
  });
});
