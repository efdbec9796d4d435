/**
 * Host-only networking arithmetic, kept pure for tests: the CIDR flag, the address range
 * VirtualBox allows, the DHCP server's plan, and collisions with host networks. What
 * VirtualBox is asked and told about the network is hostonly.ts's; NIC MACs are mac.ts's.
 *
 * VirtualBox 6.1.28 and later (Linux, macOS, Solaris hosts) only let host-only adapters have
 * addresses in 192.168.56.0/21 unless /etc/vbox/networks.conf lists more ranges (manual §6.7
 * "Host-Only Networking": lines `* <range> [<range>...]`); outside them `hostonlyif ipconfig`
 * fails with E_ACCESSDENIED. Windows hosts have no such limit.
 */

export const VBOX_DEFAULT_ALLOWED = "192.168.56.0/21";
/** Inside 192.168.56.0/21, and not VirtualBox's own vboxnet0 default (192.168.56.1/24). */
export const DEFAULT_HOSTONLY_CIDR = "192.168.59.1/24";

export interface Cidr {
  /** The host-side address of the interface (e.g. 192.168.59.1). */
  ip: string;
  prefix: number;
  netmask: string;
  network: string;
  broadcast: string;
}

export function ipToInt(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return parts.reduce((a, p) => ((a << 8) + Number(p)) >>> 0, 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join(".");
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function isIpv4(s: string): boolean {
  try {
    ipToInt(s);
    return true;
  } catch {
    return false;
  }
}

/** Parses `a.b.c.d/n`; undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(text.trim());
  if (!m || !isIpv4(m[1]!)) return undefined;
  const prefix = Number(m[2]);
  if (prefix > 32) return undefined;
  const ip = ipToInt(m[1]!);
  const mask = maskOf(prefix);
  const net = (ip & mask) >>> 0;
  return { ip: intToIp(ip), prefix, netmask: intToIp(mask), network: intToIp(net), broadcast: intToIp((net | ~mask) >>> 0) };
}

/** The network of `c` as `a.b.c.0/n`, as messages name it. */
export function networkOf(c: Cidr): string {
  return `${c.network}/${c.prefix}`;
}

/** `c` as `host/n`, the form --virtualbox-hostonly-cidr takes. */
export function hostCidrOf(c: Cidr): string {
  return `${c.ip}/${c.prefix}`;
}

export function prefixOfMask(mask: string): number | undefined {
  if (!isIpv4(mask)) return undefined;
  const n = ipToInt(mask);
  const bits = n.toString(2).padStart(32, "0");
  if (!/^1*0*$/.test(bits)) return undefined;
  return bits.indexOf("0") < 0 ? 32 : bits.indexOf("0");
}

/** Validation of --virtualbox-hostonly-cidr (a host address with a prefix, as Docker Machine wanted). Returns a problem or undefined. */
export function checkHostOnlyCidr(text: string): string | undefined {
  const c = parseCidr(text);
  if (!c) return `expected an IPv4 address with a prefix length, like ${DEFAULT_HOSTONLY_CIDR}`;
  if (c.prefix < 8 || c.prefix > 29) return "the prefix length must be between 8 and 29";
  if (c.ip === c.network) return `${c.ip} is the network address: give the host's address in it, like ${intToIp(ipToInt(c.network) + 1)}/${c.prefix}`;
  if (c.ip === c.broadcast) return `${c.ip} is the broadcast address of the network`;
  return undefined;
}

/** true when network `inner` (a CIDR) lies entirely inside `outer`. */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = parseCidr(inner);
  const b = parseCidr(outer);
  if (!a || !b || a.prefix < b.prefix) return false;
  const mask = maskOf(b.prefix);
  return ((ipToInt(a.network) & mask) >>> 0) === ((ipToInt(b.network) & mask) >>> 0);
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return false;
  const mask = maskOf(Math.min(x.prefix, y.prefix));
  return ((ipToInt(x.network) & mask) >>> 0) === ((ipToInt(y.network) & mask) >>> 0);
}

/** The IPv4 ranges of /etc/vbox/networks.conf (lines starting with `*`); undefined when there is no file. */
export function parseNetworksConf(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const ranges: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (!t.startsWith("*")) continue;
    for (const r of t.slice(1).trim().split(/\s+/)) if (parseCidr(r)) ranges.push(r);
  }
  return ranges;
}

/** Is the host-only network of `cidr` allowed by VirtualBox on this host? */
export function hostOnlyRangeAllowed(cidr: string, networksConf: string | undefined): { ok: boolean; allowed: string[] } {
  const allowed = parseNetworksConf(networksConf) ?? [VBOX_DEFAULT_ALLOWED];
  const c = parseCidr(cidr);
  if (!c) return { ok: false, allowed };
  const net = `${c.network}/${c.prefix}`;
  return { ok: allowed.some((r) => cidrWithin(net, r)), allowed };
}

export interface DhcpPlan {
  serverIp: string;
  netmask: string;
  lowerIp: string;
  upperIp: string;
}

/**
 * The DHCP server for a host-only network: as VirtualBox's own default for vboxnet0 (server
 * .100, leases .101-.254) on networks of /24 or wider; on smaller networks the server is the
 * second address and leases run to the last. The host's own address is never leased.
 */
export function dhcpPlan(cidr: Cidr): DhcpPlan {
  const net = ipToInt(cidr.network);
  const bcast = ipToInt(cidr.broadcast);
  const host = ipToInt(cidr.ip);
  let server: number;
  let lower: number;
  let upper: number;
  if (bcast - net + 1 >= 256) {
    server = net + 100;
    lower = net + 101;
    upper = net + 254;
  } else {
    server = net + 2;
    lower = net + 3;
    upper = bcast - 1;
  }
  if (host === server) server = host === net + 2 ? net + 1 : net + 2;
  if (host >= lower && host <= upper) {
    if (upper - host >= host - lower) lower = host + 1;
    else upper = host - 1;
  }
  if (server >= lower && server <= upper) lower = server + 1;
  return { serverIp: intToIp(server), netmask: cidr.netmask, lowerIp: intToIp(lower), upperIp: intToIp(upper) };
}

/**
 * Does an existing DHCP server's range serve the network of `cidr`? Its server address and
 * its range lie inside the network (not on the network or broadcast address), and the
 * host's own address is not leased.
 */
export function dhcpRangeServes(d: { ip: string; lowerIp: string; upperIp: string }, cidr: Cidr): boolean {
  try {
    const net = ipToInt(cidr.network);
    const bcast = ipToInt(cidr.broadcast);
    const lo = ipToInt(d.lowerIp);
    const hi = ipToInt(d.upperIp);
    const host = ipToInt(cidr.ip);
    return lo > net && hi < bcast && lo <= hi && (host < lo || host > hi) && ipToInt(d.ip) > net && ipToInt(d.ip) < bcast;
  } catch {
    return false;
  }
}

/** A host interface address, as os.networkInterfaces() gives it. */
export interface HostAddress {
  iface: string;
  address: string;
  netmask: string;
  family: string | number;
  internal?: boolean;
}

/**
 * A host network (not a VirtualBox host-only adapter of ours) whose network overlaps the
 * host-only CIDR: traffic to the VMs would go the wrong way (Docker Machine's
 * "host-only cidr conflicts with the network address of a host interface").
 */
export function hostNetworkCollision(cidr: string, host: readonly HostAddress[], hostOnlyIps: readonly string[]): HostAddress | undefined {
  for (const a of host) {
    if (a.family !== "IPv4" && a.family !== 4) continue;
    if (hostOnlyIps.includes(a.address)) continue;
    const prefix = prefixOfMask(a.netmask);
    if (prefix === undefined || prefix === 32) continue;
    if (cidrsOverlap(`${a.address}/${prefix}`, cidr)) return a;
  }
  return undefined;
}
