import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/model/errors.js";
import { boolOption, checkAll, defineOptions, enumOption, intOption, listOption, stringOption } from "../../../src/model/options.js";

const set = defineOptions({
  size: intOption({ flag: "x-size", env: "X_SIZE", help: "size", default: 10, min: 1, max: 100 }),
  mode: enumOption({ flag: "x-mode", env: "X_MODE", help: "mode", values: ["fast", "slow"] as const, default: "fast" }),
  name: stringOption({ flag: "x-name", env: "X_NAME", help: "name", required: "x needs --x-name", check: (v) => (/^\w+$/.test(v) ? undefined : "expected a word") }),
  on: boolOption({ flag: "x-on", env: "X_ON", help: "on" }),
  tags: listOption({ flag: "x-tag", env: "X_TAG", help: "tag", each: (v, n) => (v.includes("=") ? v : (() => { throw new UsageError(`Invalid ${n} ${JSON.stringify(v)}: expected K=V`); })()) }),
});

function thrown(f: () => unknown): UsageError {
  try {
    f();
  } catch (e) {
    return e as UsageError;
  }
  throw new Error("expected a throw");
}

describe("declared options", () => {
  it("command line wins over the variable, the variable over the default", () => {
    expect(set.read({ cli: { "x-name": "a" }, env: {} })).toEqual({ size: 10, mode: "fast", name: "a", on: false, tags: [] });
    expect(set.read({ cli: { "x-name": "a" }, env: { X_SIZE: "20", X_MODE: "SLOW", X_ON: "yes", X_TAG: "a=1, b=2" } })).toEqual({ size: 20, mode: "slow", name: "a", on: true, tags: ["a=1", "b=2"] });
    expect(set.read({ cli: { "x-name": "a", "x-size": "30", "x-tag": ["c=3"] }, env: { X_SIZE: "20", X_TAG: "a=1" } })).toMatchObject({ size: 30, tags: ["c=3"] });
  });

  it("reports every bad value at once, each named by where it came from", () => {
    const err = thrown(() => set.read({ cli: { "x-size": "0", "x-name": "a b", "x-tag": ["nokey"] }, env: { X_MODE: "medium", X_ON: "maybe" } }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe("Invalid --x-size 0: expected a whole number from 1 to 100");
    expect(err.details).toEqual([
      'Invalid X_MODE "medium": expected one of fast, slow',
      'Invalid --x-name "a b": expected a word',
      'Invalid value "maybe" for X_ON: expected true or false',
      'Invalid --x-tag "nokey": expected K=V',
    ]);
  });

  it("says what a required option needs, and quotes a value that is not a number", () => {
    expect(thrown(() => set.read({ cli: {}, env: {} })).message).toBe("x needs --x-name");
    expect(thrown(() => set.read({ cli: { "x-name": "a" }, env: { X_SIZE: "lots" } })).message).toBe('Invalid X_SIZE "lots": expected a whole number');
  });

  it("derives flags and the stored schema from the same declaration", () => {
    expect(set.flags.map((f) => [f.name, f.type, f.env, f.default])).toEqual([
      ["x-size", "int", "X_SIZE", 10],
      ["x-mode", "string", "X_MODE", "fast"],
      ["x-name", "string", "X_NAME", undefined],
      ["x-on", "boolean", "X_ON", undefined],
      ["x-tag", "list", "X_TAG", undefined],
    ]);
    const shape = set.schemaShape();
    expect(shape.size.safeParse(100).success).toBe(true);
    expect(shape.size.safeParse(101).success).toBe(false);
    expect(shape.mode.safeParse("slow").success).toBe(true);
    expect(shape.mode.safeParse("medium").success).toBe(false);
    expect(shape.name.safeParse("").success).toBe(false);
  });

  it("checkAll runs every check and reports the problems together", () => {
    expect(checkAll([() => 1, () => "a"] as const)).toEqual([1, "a"]);
    const err = thrown(() => checkAll([() => { throw new UsageError("one"); }, () => 2, () => { throw new UsageError("two"); }] as const));
    expect([err.message, err.details]).toEqual(["one", ["two"]]);
    expect(() => checkAll([() => { throw new Error("bug"); }] as const)).toThrow("bug");
  });
});
