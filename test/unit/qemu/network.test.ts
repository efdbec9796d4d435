import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { leaseAddress, listLeases, macFor, releaseMachineLeases, sharedGroupFor } from "../../../drivers/qemu/network.js";

const tmp = () => mkdtempSync(path.join(os.tmpdir(), "tsm-qnet-"));

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

  it("leases the lowest free address, reuses a machine's own, reclaims one whose machine is gone", async () => {
    const root = tmp();
    const existing = new Set(["a", "b"]);
    const exists = (n: string) => existing.has(n);
    expect(await leaseAddress(root, "a", exists)).toBe("192.168.127.2");
    expect(await leaseAddress(root, "b", exists)).toBe("192.168.127.3");
    expect(await leaseAddress(root, "a", exists)).toBe("192.168.127.2");
    existing.delete("a");
    existing.add("c");
    expect(await leaseAddress(root, "c", exists)).toBe("192.168.127.2");
    await releaseMachineLeases(root, "b");
    expect(await listLeases(root)).toEqual({ "192.168.127.2": "c" });
  });

  it("never gives one address to two concurrent creates", async () => {
    const root = tmp();
    const names = Array.from({ length: 20 }, (_, i) => `m${i}`);
    const got = await Promise.all(names.map((n) => leaseAddress(root, n, () => true)));
    expect(new Set(got).size).toBe(20);
  });
});
