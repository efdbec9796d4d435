import { describe, it, expect } from "vitest";
import { compareGoStrings, formatGoFloat, formatGoValue } from "../../../src/output/go-format.js";

describe("formatGoFloat (Go %v of a float64)", () => {
  it.each([
    [2376, "2376"],
    [1.5, "1.5"],
    [-2.5, "-2.5"],
    [0, "0"],
    [-0, "-0"],
    [22, "22"],
    [100000, "100000"],
    [999999, "999999"],
    [123456.789, "123456.789"],
    // Go switches to exponent form at 1e6, unlike JavaScript (1e21).
    [1000000, "1e+06"],
    [1234567, "1.234567e+06"],
    [21600000, "2.16e+07"],
    [2 ** 53, "9.007199254740992e+15"],
    [1e21, "1e+21"],
    [1e100, "1e+100"],
    [-1.5e300, "-1.5e+300"],
    [Number.MAX_VALUE, "1.7976931348623157e+308"],
    [0.0001, "0.0001"],
    [0.000123, "0.000123"],
    [0.00001, "1e-05"],
    [1.5e-7, "1.5e-07"],
    [5e-324, "5e-324"],
    [0.1 + 0.2, "0.30000000000000004"],
    [NaN, "NaN"],
    [Infinity, "+Inf"],
    [-Infinity, "-Inf"],
  ])("%s -> %s", (n, want) => {
    expect(formatGoFloat(n)).toBe(want);
  });
});

describe("formatGoValue", () => {
  it.each<[string, unknown, string]>([
    ["string as is", "tcp://1.2.3.4:2376", "tcp://1.2.3.4:2376"],
    ["empty string", "", ""],
    ["number", 2376, "2376"],
    ["large number", 20000000, "2e+07"],
    ["true", true, "true"],
    ["false", false, "false"],
    ["null", null, "<nil>"],
    ["undefined", undefined, "<nil>"],
    ["bigint", 12345678901234567890n, "12345678901234567890"],
    ["empty array", [], "[]"],
    ["array", ["a", "b", "c"], "[a b c]"],
    ["mixed array", [1, "two words", true, null], "[1 two words true <nil>]"],
    ["nested array", [[1, 2], [], [3]], "[[1 2] [] [3]]"],
    ["empty object", {}, "map[]"],
    ["object keys sorted", { b: 1, a: 2, C: 3 }, "map[C:3 a:2 b:1]"],
    // JS objects list integer-like keys first; Go sorts them as strings.
    ["integer-like keys", { b: 1, "10": 2, "9": 3, a: 4 }, "map[10:2 9:3 a:4 b:1]"],
    ["null inside map", { x: null }, "map[x:<nil>]"],
    [
      "nested",
      { Driver: { IPAddress: "1.2.3.4", SSHPort: 22 }, Labels: ["a=b"], Tls: false },
      "map[Driver:map[IPAddress:1.2.3.4 SSHPort:22] Labels:[a=b] Tls:false]",
    ],
    ["map inside array", [{ k: "v" }], "[map[k:v]]"],
    ["unicode", { "é": "日本語" }, "map[é:日本語]"],
  ])("%s", (_name, v, want) => {
    expect(formatGoValue(v)).toBe(want);
  });

  it("sorts astral keys after U+FFFD (UTF-8 byte order, not UTF-16)", () => {
    expect(formatGoValue({ "\u{1F600}": 1, "\uFFFD": 2, z: 3 })).toBe("map[z:3 \uFFFD:2 \u{1F600}:1]");
  });
});

describe("compareGoStrings", () => {
  it.each<[string, string, number]>([
    ["a", "b", -1],
    ["b", "a", 1],
    ["a", "a", 0],
    ["a", "ab", -1],
    ["B", "a", -1],
    ["10", "9", -1],
    ["\u{1F600}", "\uFFFD", 1],
    ["\uFFFD", "\u{1F600}", -1],
    ["\u{1F600}", "\u{1F601}", -1],
  ])("%j vs %j", (a, b, sign) => {
    expect(Math.sign(compareGoStrings(a, b))).toBe(sign);
  });
});
