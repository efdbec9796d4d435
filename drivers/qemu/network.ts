/**
 * The store's shared QEMU network (each machine's second NIC): a UDP multicast group on
 * the loopback interface, so only this host's processes can join it, with static
 * addresses that tsm hands out (there is no DHCP server on it).
 *
 * - The group and port derive from the store's path: machines of one store meet, two
 *   stores (or two users) do not collide by accident. Local processes can still join the
 *   group; what crosses it between machines is what would cross a LAN (the engine API
 *   itself is TLS-only).
 * - Addresses are leased with one file per address in `<store>/cache/qemu-network/`,
 *   created with O_EXCL, so concurrent creates never pick the same one. A lease whose
 *   machine no longer exists in the store is reclaimed.
 * - MAC addresses derive from the machine name (QEMU's locally administered 52:54:00 prefix).
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { TsmError } from "../../src/model/errors.js";

export const SHARED_NETWORK = { prefix: "192.168.127", prefixLength: 24, first: 2, last: 254 } as const;

/** "239.255.x.y:port" (IPv4 local scope, RFC 2365), stable for a store path. */
export function sharedGroupFor(storeRoot: string): string {
  const h = createHash("sha256").update(path.resolve(storeRoot)).digest();
  const port = 20000 + (h.readUInt16BE(2) % 20000);
  return `239.255.${h[0]}.${h[1]}:${port}`;
}

/** A stable MAC for NIC `index` of machine `name`. */
export function macFor(name: string, index: number): string {
  const h = createHash("sha256").update(`${index}\0${name}`).digest();
  return ["52", "54", "00", h[0], h[1], h[2]].map((b) => (typeof b === "string" ? b : b!.toString(16).padStart(2, "0"))).join(":");
}

function leaseDir(storeRoot: string): string {
  return path.join(storeRoot, "cache", "qemu-network");
}

/** Leases the lowest free address for `machineName` (its own lease is reused). */
export async function leaseAddress(storeRoot: string, machineName: string, machineExists: (name: string) => boolean): Promise<string> {
  const dir = leaseDir(storeRoot);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (let host = SHARED_NETWORK.first; host <= SHARED_NETWORK.last; host++) {
    const address = `${SHARED_NETWORK.prefix}.${host}`;
    const file = path.join(dir, address);
    try {
      await writeFile(file, machineName, { flag: "wx", mode: 0o600 });
      return address;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const owner = await readFile(file, "utf8").catch(() => "");
    if (owner === machineName) return address;
    if (owner !== "" && !machineExists(owner)) {
      // The machine that held it is gone from the store: take the lease over, then check that
      // no concurrent create took it too (the last writer wins; the loser moves on).
      await writeFile(file, machineName, { mode: 0o600 });
      if ((await readFile(file, "utf8").catch(() => "")) === machineName) return address;
    }
  }
  throw new TsmError("NETWORK_FULL", `The shared QEMU network ${SHARED_NETWORK.prefix}.0/${SHARED_NETWORK.prefixLength} has no free address: remove unused QEMU machines`);
}

/** Gives back every address `machineName` holds. */
export async function releaseMachineLeases(storeRoot: string, machineName: string): Promise<void> {
  const dir = leaseDir(storeRoot);
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    const file = path.join(dir, f);
    if ((await readFile(file, "utf8").catch(() => "")) === machineName) await rm(file, { force: true });
  }
}

/** Leases held, for tests and diagnostics. */
export async function listLeases(storeRoot: string): Promise<Record<string, string>> {
  const dir = leaseDir(storeRoot);
  const out: Record<string, string> = {};
  for (const f of await readdir(dir).catch(() => [] as string[])) out[f] = await readFile(path.join(dir, f), "utf8").catch(() => "");
  return out;
}
