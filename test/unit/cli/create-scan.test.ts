import { describe, expect, it } from "vitest";
import { scanDriverName } from "../../../src/cli/commands/create.js";

describe("scanDriverName (the first pass of create's two-pass parse)", () => {
  it.each([
    [["tsm", "create", "-d", "none", "x"], "none"],
    [["tsm", "create", "--driver", "generic", "x"], "generic"],
    [["tsm", "create", "--driver=qemu", "x"], "qemu"],
    [["tsm", "create", "-d=qemu", "x"], "qemu"],
    [["tsm", "create", "-dqemu", "x"], "qemu"],
    [["tsm", "-s", "create", "create", "-d", "none", "x"], "none"],
    [["tsm", "-D", "create", "x", "-d", "none"], "none"],
    [["tsm", "create", "--", "-d", "none"], undefined],
    [["tsm", "ls", "-d", "none"], undefined],
  ])("%j -> %j", (argv, expected) => {
    expect(scanDriverName(argv, {})).toBe(expected);
  });

  it("falls back to TSM_DRIVER", () => {
    expect(scanDriverName(["tsm", "create", "x"], { TSM_DRIVER: "none" })).toBe("none");
    expect(scanDriverName(["tsm", "create", "-d", "generic", "x"], { TSM_DRIVER: "none" })).toBe("generic");
  });
});
