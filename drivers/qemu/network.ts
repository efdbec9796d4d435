/**
 * The store's shared QEMU network (each machine's second NIC): a UDP multicast group on
 * the loopback interface, so only this host's processes can join it, with static
 * addresses that tsm hands out (there is no DHCP server on it).
 *
 * - The group and port derive from the store's path: machines of one store meet, two
 *   stores (or two users) do not collide by accident. Local processes can still join the
 *   group; what crosses it between machines is what would cross a LAN (the engine API
 *   itself is TLS-only).
 * - Addresses are leased through DriverHost.leases (src/store/leases.ts: one file per
 *   address in `<store>/cache/qemu-network/`, so concurrent creates never pick the same one).
 * - MAC addresses derive from the machine name (QEMU's locally administered 52:54:00 prefix).
 */
import { createHash } from "node:crypto";
import path from "node:path";
import type { LeaseNetwork } from "../../src/model/driver.js";

export const SHARED_NETWORK: LeaseNetwork = { name: "qemu-network", description: "QEMU network", prefix: "192.168.127", prefixLength: 24, first: 2, last: 254 };

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
