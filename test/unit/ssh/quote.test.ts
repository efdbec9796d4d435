import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/model/errors.js";
import { shQuote } from "../../../src/ssh/client.js";

describe("shQuote", () => {
  it.each([
    ["", "''"],
    ["plain", "'plain'"],
    ["a'b", `'a'\\''b'`],
    ["'", `''\\'''`],
    ["with space", "'with space'"],
    ["$(touch /tmp/x)", "'$(touch /tmp/x)'"],
    ["`id`", "'`id`'"],
    ['"dq"', `'"dq"'`],
    ["a\nb", "'a\nb'"],
    ["*", "'*'"],
    ["\\", "'\\'"],
  ])("quotes %j as %s", (value, quoted) => {
    expect(shQuote(value)).toBe(quoted);
  });

  it("round-trips hostile strings through a real POSIX shell and runs nothing", () => {
    const hostile = ["", "a'b", "''", "$(echo pwned)", "`echo pwned`", "; echo pwned", "x\ny\n", "*", "~", "${PATH}", "\\'", "-n", "é✓", "\t\r\n", "!$"];
    for (const value of hostile) {
      const out = execFileSync("/bin/sh", ["-c", `printf %s ${shQuote(value)}`], { encoding: "utf8" });
      expect(out).toBe(value);
    }
  });

  it("refuses NUL, which no shell argument can carry", () => {
    expect(() => shQuote("a\0b")).toThrow(UsageError);
  });
});
