import { describe, it, expect } from "@jest/globals";
import { parseReference, withTag, withDigest, isValidDomain, InvalidReferenceError } from "../../../src/image/reference.js";
import type { Digest } from "../../../src/util/digest.js";

const D = `sha256:${"a".repeat(64)}` as Digest;

// input | domain | path | tag | digest | familiar | full
const valid: ReadonlyArray<readonly [string, string, string, string | undefined, string | undefined, string, string]> = [
  ["busybox", "docker.io", "library/busybox", "latest", undefined, "busybox:latest", "docker.io/library/busybox:latest"],
  ["busybox:1.36", "docker.io", "library/busybox", "1.36", undefined, "busybox:1.36", "docker.io/library/busybox:1.36"],
  ["library/busybox", "docker.io", "library/busybox", "latest", undefined, "busybox:latest", "docker.io/library/busybox:latest"],
  ["docker.io/busybox", "docker.io", "library/busybox", "latest", undefined, "busybox:latest", "docker.io/library/busybox:latest"],
  ["index.docker.io/user/app:v1", "docker.io", "user/app", "v1", undefined, "user/app:v1", "docker.io/user/app:v1"],
  ["user/app", "docker.io", "user/app", "latest", undefined, "user/app:latest", "docker.io/user/app:latest"],
  ["localhost/app", "localhost", "app", "latest", undefined, "localhost/app:latest", "localhost/app:latest"],
  ["localhost", "docker.io", "library/localhost", "latest", undefined, "localhost:latest", "docker.io/library/localhost:latest"],
  ["localhost:5000/ns/app:v2", "localhost:5000", "ns/app", "v2", undefined, "localhost:5000/ns/app:v2", "localhost:5000/ns/app:v2"],
  ["127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", undefined, "127.0.0.1:5000/app:latest", "127.0.0.1:5000/app:latest"],
  ["[::1]:5000/app:x", "[::1]:5000", "app", "x", undefined, "[::1]:5000/app:x", "[::1]:5000/app:x"],
  ["Example.COM/app", "Example.COM", "app", "latest", undefined, "Example.COM/app:latest", "Example.COM/app:latest"],
  ["ghcr.io/a/b/c-d__e.f:T_1.x-y", "ghcr.io", "a/b/c-d__e.f", "T_1.x-y", undefined, "ghcr.io/a/b/c-d__e.f:T_1.x-y", "ghcr.io/a/b/c-d__e.f:T_1.x-y"],
  [`busybox@${D}`, "docker.io", "library/busybox", undefined, D, `busybox@${D}`, `docker.io/library/busybox@${D}`],
  [`host:5000/app:tag@${D}`, "host:5000", "app", "tag", D, `host:5000/app:tag@${D}`, `host:5000/app:tag@${D}`],
  ["a--b/c", "docker.io", "a--b/c", "latest", undefined, "a--b/c:latest", "docker.io/a--b/c:latest"],
  [`${"a".repeat(64)}:tag`, "docker.io", `library/${"a".repeat(64)}`, "tag", undefined, `${"a".repeat(64)}:tag`, `docker.io/library/${"a".repeat(64)}:tag`],
];

// input | fragment expected in the message
const invalid: ReadonlyArray<readonly [string, string]> = [
  ["", "empty"],
  ["Busybox", "must be lowercase"],
  ["docker.io/User/app", "must be lowercase"],
  ["busybox:", "tag after ':' is empty"],
  ["busybox:-x", "tag \"-x\" is invalid"],
  [`busybox:${"a".repeat(129)}`, "is invalid"],
  ["busybox@sha256:abc", "not a sha256 digest"],
  ["busybox@nope", "not of the form"],
  ["a@b@c", "more than one '@'"],
  ["host:5000/", "empty component"],
  ["host:5000//app", "empty component"],
  ["foo/-bar", "component \"-bar\" is invalid"],
  ["foo/bar_", "component \"bar_\" is invalid"],
  ["foo/a___b", "component \"a___b\" is invalid"],
  ["bad_host.com:port/app", "registry host"],
  ["host:99999/app", "registry host"],
  ["-host.com/app", "registry host"],
  ["a".repeat(64), "image ID"],
  ["my app", "whitespace"],
  [":tag", "repository name is empty"],
  [`x.io/${"a".repeat(260)}`, "longer than 255"],
];

describe("parseReference", () => {
  it.each(valid)("parses %s", (input, domain, path, tag, digest, familiar, full) => {
    const r = parseReference(input);
    expect(r.domain).toBe(domain);
    expect(r.path).toBe(path);
    expect(r.tag).toBe(tag);
    expect(r.digest).toBe(digest);
    expect(r.familiar).toBe(familiar);
    expect(r.full).toBe(full);
    expect(r.name).toBe(`${domain}/${path}`);
    // normalizing twice is stable
    expect(parseReference(r.full).full).toBe(full);
    expect(parseReference(r.familiar).full).toBe(full);
  });

  it.each(invalid)("rejects %j", (input, fragment) => {
    let err: unknown;
    try {
      parseReference(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidReferenceError);
    const e = err as InvalidReferenceError;
    expect(e.code).toBe("TSB_REF_INVALID");
    expect(e.message).toContain(fragment);
    expect(e.hint).toBeTruthy();
    expect(e.reference).toBe(input);
  });

  it("leaves the tag out when asked", () => {
    expect(parseReference("busybox", { defaultTag: false }).tag).toBeUndefined();
    expect(parseReference("busybox", { defaultTag: false }).full).toBe("docker.io/library/busybox");
  });

  it("derives references with another tag or a digest", () => {
    const r = parseReference("localhost:5000/app:v1");
    expect(withTag(r, "v2").full).toBe("localhost:5000/app:v2");
    expect(withDigest(r, D).full).toBe(`localhost:5000/app:v1@${D}`);
    expect(() => withTag(r, ".bad")).toThrow(InvalidReferenceError);
  });

  it("returns frozen data", () => {
    expect(Object.isFrozen(parseReference("busybox"))).toBe(true);
  });
});

describe("isValidDomain", () => {
  it.each([
    ["localhost", true], ["a.b.c", true], ["a-b.c:1", true], ["[::1]", true], ["[fe80::1%eth0]:443", true],
    ["a_b", false], ["a.", false], ["[::1", false], ["h:", false], ["h:x", false],
  ] as const)("%s → %s", (host, ok) => {
    expect(isValidDomain(host)).toBe(ok);
  });
});
