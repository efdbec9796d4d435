import { describe, expect, it } from "vitest";
import { macFor, sharedGroupFor } from "../../../drivers/qemu/network.js";

describe("shared network", () => {
  it("derives a stable local-scope multicast group per store", () => {
    const a = sharedGroupFor("/home/a/.tsm");
    expect(a).toMatch(/^239\.255\.\d{1,3}\.\d{1,3}:\d+$/);
    expect(sharedGroupFor("/home/a/.tsm")).toBe(a);
    expect(sharedGroupFor("/home/b/.tsm")).not.toBe(a);
    const port = Number(a.split(":")[1]);
    expect(port).toBeGreaterThanOrEqual(20000);
    expect(port).toBeLessThan(40000);
  });

  it("derives distinct, locally administered MACs per machine and NIC", () => {
    expect(macFor("dev", 0)).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(macFor("dev", 0)).toBe(macFor("dev", 0));
    expect(macFor("dev", 0)).not.toBe(macFor("dev", 1));
    expect(macFor("dev", 0)).not.toBe(macFor("dev2", 0));
  });
});
