import { describe, it, expect } from "@jest/globals";
import { pathRelativeToWorkingDir } from "../../../src/frontend/dispatch-common.js";

describe("pathRelativeToWorkingDir (COPY/ADD destinations)", () => {
  it("keeps a written trailing slash and makes `.` a directory of the working dir", () => {
    expect(pathRelativeToWorkingDir("/wd", "/d/")).toBe("/d/");
    expect(pathRelativeToWorkingDir("/wd", ".")).toBe("/wd/");
    expect(pathRelativeToWorkingDir("/wd", "")).toBe("/wd/");
    expect(pathRelativeToWorkingDir("/wd", "./")).toBe("/wd/");
    expect(pathRelativeToWorkingDir("/wd", "sub/")).toBe("/wd/sub/");
    expect(pathRelativeToWorkingDir("/", "/")).toBe("/");
  });

  it("cleans `/d/.` to the file destination `/d` (Docker 20.10: `COPY f /d1/.` makes a file /d1)", () => {
    expect(pathRelativeToWorkingDir("/wd", "/d1/.")).toBe("/d1");
    expect(pathRelativeToWorkingDir("/wd", "sub/.")).toBe("/wd/sub");
    expect(pathRelativeToWorkingDir("/wd", "../up.txt")).toBe("/up.txt");
    expect(pathRelativeToWorkingDir("/wd", "//double//slash")).toBe("/double/slash");
    expect(pathRelativeToWorkingDir("/wd", "/d2/./name")).toBe("/d2/name");
  });
});
