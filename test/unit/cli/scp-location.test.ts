import { describe, expect, it } from "vitest";
import { parseScpLocation } from "../../../src/cli/commands/scp.js";

describe("parseScpLocation ([[user@]machine:]path)", () => {
  it.each([
    ["dev:/tmp/x", { machine: "dev", user: undefined, path: "/tmp/x" }],
    ["root@dev:/etc", { machine: "dev", user: "root", path: "/etc" }],
    ["dev:", { machine: "dev", user: undefined, path: "." }],
    ["dev:~/notes", { machine: "dev", user: undefined, path: "notes" }],
    ["dev:~", { machine: "dev", user: undefined, path: "." }],
    ["localhost:/tmp/x", { path: "/tmp/x" }],
    ["./a:b", { path: "./a:b" }],
    ["/abs/path", { path: "/abs/path" }],
    ["plain.txt", { path: "plain.txt" }],
  ])("%j", (arg, expected) => {
    expect(parseScpLocation(arg)).toEqual(expected);
  });

  it("refuses an invalid machine or user name", () => {
    expect(() => parseScpLocation("-x:/tmp")).toThrow(/Invalid machine name/);
    expect(() => parseScpLocation("b;d@dev:/tmp")).toThrow(/Invalid user/);
  });
});
