import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SHARED_NETWORK } from "../../../drivers/qemu/network.js";
import { leaseAddress, listLeases, machineLeases, releaseMachineLeases } from "../../../src/store/leases.js";
import { storePaths } from "../../../src/store/paths.js";

const tmp = () => mkdtempSync(path.join(os.tmpdir(), "tsm-qnet-"));

describe("address leases", () => {
  it("leases the lowest free address, reuses a machine's own, reclaims one whose machine is gone", async () => {
    const root = tmp();
    const existing = new Set(["a", "b"]);
    const exists = (n: string) => existing.has(n);
    expect(await leaseAddress(storePaths(root), SHARED_NETWORK, "a", exists)).toBe("192.168.127.2");
    expect(await leaseAddress(storePaths(root), SHARED_NETWORK, "b", exists)).toBe("192.168.127.3");
    expect(await leaseAddress(storePaths(root), SHARED_NETWORK, "a", exists)).toBe("192.168.127.2");
    existing.delete("a");
    existing.add("c");
    expect(await leaseAddress(storePaths(root), SHARED_NETWORK, "c", exists)).toBe("192.168.127.2");
    await releaseMachineLeases(storePaths(root), SHARED_NETWORK, "b");
    expect(await listLeases(storePaths(root), SHARED_NETWORK)).toEqual({ "192.168.127.2": "c" });
  });

  it("never gives one address to two concurrent creates", async () => {
    const root = tmp();
    const names = Array.from({ length: 20 }, (_, i) => `m${i}`);
    const got = await Promise.all(names.map((n) => leaseAddress(storePaths(root), SHARED_NETWORK, n, () => true)));
    expect(new Set(got).size).toBe(20);
  });

  it("keeps the leases where earlier tsm versions kept them, and reclaims one whose record is gone", async () => {
    const root = tmp();
    const paths = storePaths(root);
    for (const n of ["a", "b", "c"]) {
      mkdirSync(paths.machineDir(n), { recursive: true });
      writeFileSync(paths.machine(n).record, "{}");
    }
    expect(await machineLeases(paths, "a").lease(SHARED_NETWORK)).toBe("192.168.127.2");
    expect(existsSync(path.join(root, "cache", "qemu-network", "192.168.127.2"))).toBe(true);
    expect(await machineLeases(paths, "b").lease(SHARED_NETWORK)).toBe("192.168.127.3");
    await machineLeases(paths, "b").release(SHARED_NETWORK);
    expect(await listLeases(paths, SHARED_NETWORK)).toEqual({ "192.168.127.2": "a" });
    expect(await machineLeases(paths, "c").lease(SHARED_NETWORK)).toBe("192.168.127.3");
    expect(await machineLeases(paths, "d").lease(SHARED_NETWORK)).toBe("192.168.127.4");
    // A machine whose record is gone loses its lease to the next create.
    rmSync(paths.machineDir("a"), { recursive: true });
    expect(await machineLeases(paths, "e").lease(SHARED_NETWORK)).toBe("192.168.127.2");
  });
});
