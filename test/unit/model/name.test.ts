/** The machine-name rule (src/model/name.ts): Docker Machine's characters, and at most 64 of them. */
import { describe, expect, it } from "vitest";
import { InvalidMachineNameError } from "../../../src/model/errors.js";
import { MachineRecordSchema } from "../../../src/model/machine.js";
import { MACHINE_NAME_MAX, isValidMachineName, validateMachineName } from "../../../src/model/name.js";

describe("machine names", () => {
  it("are at most 64 characters, Linux's HOST_NAME_MAX: the name becomes the host's hostname (issue 11, defect 7)", () => {
    expect(MACHINE_NAME_MAX).toBe(64);
    expect(isValidMachineName("a".repeat(64))).toBe(true);
    expect(isValidMachineName("a".repeat(65))).toBe(false);
    expect(isValidMachineName("a".repeat(243))).toBe(false);
    expect(validateMachineName("a".repeat(64))).toBe("a".repeat(64));
  });

  it("too long is a usage error that says the limit", () => {
    const err = (() => {
      try {
        validateMachineName(`x${"a".repeat(242)}`);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidMachineNameError);
    expect(err).toMatchObject({ code: "INVALID_NAME", exitCode: 2 });
    expect((err as Error).message).toBe(`Invalid machine name "xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…" (243 characters): a name has at most 64 characters`);
  });

  it("keeps Docker Machine's characters", () => {
    for (const ok of ["a", "0", "dev-1.example", "A.b-C"]) expect(isValidMachineName(ok)).toBe(true);
    for (const bad of ["", "-", ".", "..", "∞", "foo_bar", "-x", ".x", "a b", "a/b"]) expect(isValidMachineName(bad)).toBe(false);
    expect(() => validateMachineName("foo_bar")).toThrow(/^Invalid machine name "foo_bar": use letters, digits, '\.' and '-', starting with a letter or digit$/);
  });

  it("the record schema holds records to the same rule", () => {
    expect(MachineRecordSchema.shape.name.safeParse("a".repeat(64)).success).toBe(true);
    expect(MachineRecordSchema.shape.name.safeParse("a".repeat(65)).success).toBe(false);
  });
});
