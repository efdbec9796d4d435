/** MAC addresses for VirtualBox NICs (kept apart from network.ts: node:crypto costs start-up time, and the descriptor loads network.ts). */
import { createHash } from "node:crypto";

/**
 * A stable MAC for NIC `nic` of a machine: VirtualBox's OUI 08:00:27 and three bytes of a hash
 * of the store and the name, so the host-only DHCP server leases the same address after every
 * restart, and two machines (or two stores) do not collide. As VBoxManage takes it: 12 hex digits.
 */
export function machineMac(storeRoot: string, machineName: string, nic: number): string {
  const h = createHash("sha256").update(`${storeRoot}\0${machineName}\0nic${nic}`).digest("hex");
  return `080027${h.slice(0, 6)}`.toUpperCase();
}

/** 080027AABBCC -> 08:00:27:aa:bb:cc */
export function colonMac(mac: string): string {
  return mac.toLowerCase().replace(/[^0-9a-f]/g, "").replace(/(..)(?!$)/g, "$1:");
}
