/**
 * Address leases on a network that the store's machines share (QEMU's multicast network
 * has no DHCP server: tsm hands out static addresses). One file per address in
 * `<store>/cache/<network>/`, created with O_EXCL, so concurrent creates never pick the
 * same one; the file holds the machine's name. A lease whose machine no longer exists in
 * the store is reclaimed. Drivers reach this through DriverHost.leases, never by path.
 * node:fs/promises is loaded on first use: every opened machine gets a lease service, and
 * store-only commands (`env`) must not pay for it.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { AddressLeases, LeaseNetwork } from "../model/driver.js";
import { FileIoError, TsmError } from "../model/errors.js";
import type { StorePaths } from "./paths.js";

function leaseDir(paths: StorePaths, network: LeaseNetwork): string {
  return path.join(paths.cacheDir, network.name);
}

/** Leases the lowest free address for `machineName` (its own lease is reused). */
export async function leaseAddress(paths: StorePaths, network: LeaseNetwork, machineName: string, machineExists: (name: string) => boolean): Promise<string> {
  const { mkdir, readFile, writeFile } = await import("node:fs/promises");
  const dir = leaseDir(paths, network);
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch((err: unknown) => {
    throw new FileIoError("create the directory", dir, err);
  });
  for (let host = network.first; host <= network.last; host++) {
    const address = `${network.prefix}.${host}`;
    const file = path.join(dir, address);
    try {
      await writeFile(file, machineName, { flag: "wx", mode: 0o600 });
      return address;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new FileIoError("write", file, e);
    }
    const owner = await readFile(file, "utf8").catch(() => "");
    if (owner === machineName) return address;
    if (owner !== "" && !machineExists(owner)) {
      // The machine that held it is gone from the store: take the lease over, then check that
      // no concurrent create took it too (the last writer wins; the loser moves on).
      await writeFile(file, machineName, { mode: 0o600 }).catch((err: unknown) => {
        throw new FileIoError("write", file, err);
      });
      if ((await readFile(file, "utf8").catch(() => "")) === machineName) return address;
    }
  }
  throw new TsmError("NETWORK_FULL", `The shared ${network.description} ${network.prefix}.0/${network.prefixLength} has no free address: remove unused machines on it`);
}

/** Gives back every address `machineName` holds on the network. */
export async function releaseMachineLeases(paths: StorePaths, network: LeaseNetwork, machineName: string): Promise<void> {
  const { readFile, readdir, rm } = await import("node:fs/promises");
  const dir = leaseDir(paths, network);
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    const file = path.join(dir, f);
    if ((await readFile(file, "utf8").catch(() => "")) === machineName) await rm(file, { force: true });
  }
}

/** Leases held (address -> machine), for tests and diagnostics. */
export async function listLeases(paths: StorePaths, network: LeaseNetwork): Promise<Record<string, string>> {
  const { readFile, readdir } = await import("node:fs/promises");
  const dir = leaseDir(paths, network);
  const out: Record<string, string> = {};
  for (const f of await readdir(dir).catch(() => [] as string[])) out[f] = await readFile(path.join(dir, f), "utf8").catch(() => "");
  return out;
}

/** The lease service one machine's driver gets: a machine exists while its record does. */
export function machineLeases(paths: StorePaths, machineName: string): AddressLeases {
  const exists = (name: string) => existsSync(paths.machine(name).record);
  return {
    lease: (network) => leaseAddress(paths, network, machineName, exists),
    release: (network) => releaseMachineLeases(paths, network, machineName),
  };
}
