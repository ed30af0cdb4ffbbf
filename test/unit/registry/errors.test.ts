import { describe, it, expect } from "@jest/globals";
import { RegistryError, errorFromNetwork, errorFromResponse, parseErrorBody, redact } from "../../../src/registry/errors.js";

const ctx = { registry: "reg.test:5000", action: "pulling reg.test:5000/app:1" };
const body = (code: string, message = "m") => JSON.stringify({ errors: [{ code, message }] });

describe("registry errors", () => {
  it.each([
    [401, body("UNAUTHORIZED", "authentication required"), "TSB_REGISTRY_UNAUTHORIZED", /tsbuild login reg\.test:5000/],
    [403, body("DENIED"), "TSB_REGISTRY_DENIED", /lack permission/],
    [404, body("NAME_UNKNOWN"), "TSB_REGISTRY_NAME_UNKNOWN", /check the repository name/],
    [404, body("MANIFEST_UNKNOWN"), "TSB_REGISTRY_MANIFEST_UNKNOWN", /check the repository name and tag/],
    [404, body("BLOB_UNKNOWN"), "TSB_REGISTRY_BLOB_UNKNOWN", /push the image again/],
    [429, body("TOOMANYREQUESTS"), "TSB_REGISTRY_TOOMANYREQUESTS", /rate-limits/],
    [503, "<html>down</html>", "TSB_REGISTRY_SERVER_ERROR", /retry later/],
    [401, "", "TSB_REGISTRY_UNAUTHORIZED", /login/],
    [400, body("WHATEVER"), "TSB_REGISTRY_PROTOCOL", /retry/],
  ] as const)("%d %s → %s", (status, text, code, hint) => {
    const e = errorFromResponse(status, text, ctx);
    expect(e).toBeInstanceOf(RegistryError);
    expect(e.name).toBe("RegistryError");
    expect(e.code).toBe(code);
    expect(e.status).toBe(status);
    expect(e.registry).toBe("reg.test:5000");
    expect(e.message).toContain("pulling reg.test:5000/app:1");
    expect(e.message).toContain(`answered ${status}`);
    expect(e.hint).toMatch(hint);
  });
  it("says push-specific things for pushes", () => {
    expect(errorFromResponse(401, "", { ...ctx, push: true }).hint).toBe("run 'tsbuild login reg.test:5000' with an account that may push to this repository");
  });
  it("maps connection failures without raw library text", () => {
    const e = errorFromNetwork(Object.assign(new Error("socket hang up: secret-ish detail"), { code: "ECONNREFUSED" }), ctx);
    expect(e.code).toBe("TSB_REGISTRY_UNREACHABLE");
    expect(e.message).toBe("pulling reg.test:5000/app:1: reg.test:5000 connection failed (ECONNREFUSED)");
    expect(e.hint).toContain("--insecure-registry");
    expect(errorFromNetwork({ code: "UND_ERR_HEADERS_TIMEOUT" }, ctx).code).toBe("TSB_REGISTRY_TIMEOUT");
  });
  it("parses bodies and redacts secrets", () => {
    expect(parseErrorBody(body("DENIED", "no"))).toEqual({ code: "DENIED", message: "no" });
    expect(parseErrorBody("nope")).toBeUndefined();
    expect(redact("a hunter2 b hunter2", ["hunter2", "ab"])).toBe("a *** b ***");
  });
});
