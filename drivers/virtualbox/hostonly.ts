/**
 * The host-only network on VirtualBox's side (NIC2 of every machine, where clients reach the
 * engine): before create, whether the network of --virtualbox-hostonly-cidr can be ours
 * (a range VirtualBox allows, no clashing adapter, no host network in the way); at each start
 * from power-off, the adapter with the host's address (found, or created and configured) and
 * its DHCP server (added, or corrected). The arithmetic is network.ts's; every call goes
 * through VBoxManage (vboxmanage.ts).
 */
import type { OpContext } from "../../src/model/driver.js";
import { PreCreateCheckError, TsmError } from "../../src/model/errors.js";
import {
  cidrsOverlap,
  dhcpPlan,
  dhcpRangeServes,
  hostCidrOf,
  hostNetworkCollision,
  hostOnlyRangeAllowed,
  networkOf,
  prefixOfMask,
  type Cidr,
  type HostAddress,
} from "./network.js";
import { parseDhcpServers, parseHostOnlyIfCreate, parseHostOnlyIfs, versionAtLeast, type HostOnlyIf, type VBoxVersion } from "./parse.js";
import { VBoxManageError, type VBoxManage } from "./vboxmanage.js";

/** Where VirtualBox 6.1.28+ reads the ranges host-only adapters may use (manual §6.7). */
export const NETWORKS_CONF = "/etc/vbox/networks.conf";

/**
 * Pre-create: VirtualBox 6.1.28 and later, on hosts other than Windows, gives host-only
 * adapters only addresses in 192.168.56.0/21 or in the ranges of networks.conf.
 */
export function checkHostOnlyRange(cidr: Cidr, host: { platform: NodeJS.Platform; version: VBoxVersion; readFile(file: string): string | undefined }): void {
  if (host.platform === "win32" || !versionAtLeast(host.version, 6, 1, 28)) return;
  const range = hostOnlyRangeAllowed(hostCidrOf(cidr), host.readFile(NETWORKS_CONF));
  if (range.ok) return;
  const net = networkOf(cidr);
  throw new PreCreateCheckError(
    `The host-only network ${net} is outside the ranges VirtualBox ${host.version.raw} allows for host-only adapters (${range.allowed.join(", ") || "none"}). ` +
      `Choose a --virtualbox-hostonly-cidr inside 192.168.56.0/21 (for example 192.168.59.1/24), or allow the range in ${NETWORKS_CONF} (a line like "* ${net}")`,
  );
}

/**
 * Pre-create: the host-only adapters VirtualBox lists leave room for ours (at most one with
 * the host's address, no other in its network), and no network of the host overlaps it.
 */
export async function checkHostOnlyAdapters(vbm: VBoxManage, cidr: Cidr, networkInterfaces: () => HostAddress[]): Promise<void> {
  const ifs = parseHostOnlyIfs(await vbm.run(["list", "hostonlyifs"]));
  checkAdapterList(ifs, cidr);
  const collision = hostNetworkCollision(
    hostCidrOf(cidr),
    networkInterfaces(),
    ifs.map((i) => i.ip),
  );
  if (collision) {
    throw new PreCreateCheckError(
      `The host-only network ${networkOf(cidr)} collides with the host's network ${collision.address}/${prefixOfMask(collision.netmask)} on ${collision.iface}: choose another --virtualbox-hostonly-cidr`,
    );
  }
}

/** Host-only adapters with our address must be unique, and no other adapter may sit in our network. */
function checkAdapterList(ifs: HostOnlyIf[], cidr: Cidr): void {
  const same = ifs.filter((i) => i.ip === cidr.ip);
  if (same.length > 1) {
    throw new PreCreateCheckError(
      `VirtualBox has several host-only adapters with the address ${cidr.ip} (${same.map((i) => i.name).join(", ")}): remove the extra ones (VBoxManage hostonlyif remove NAME)`,
    );
  }
  const names = new Set<string>();
  for (const i of ifs) {
    if (names.has(i.name)) throw new PreCreateCheckError(`VirtualBox lists two host-only adapters named ${i.name}: repair its network settings`);
    names.add(i.name);
  }
  const net = networkOf(cidr);
  for (const i of ifs) {
    if (i.ip === cidr.ip || i.ip === "" || i.ip === "0.0.0.0") continue;
    const p = prefixOfMask(i.netmask);
    if (p !== undefined && cidrsOverlap(`${i.ip}/${p}`, net)) {
      throw new PreCreateCheckError(
        `The host-only network ${net} overlaps the host-only adapter ${i.name} (${i.ip}/${p}): use --virtualbox-hostonly-cidr ${i.ip}/${p} to share that adapter, or another network`,
      );
    }
  }
}

export interface HostOnlyOptions {
  /** --virtualbox-hostonly-no-dhcp: the adapter's DHCP server is disabled. */
  noDhcp: boolean;
  /** An abortable wait (model/abort.ts's sleep); `what` names it in the interrupt message. */
  sleep(ms: number, what: string): Promise<void>;
}

/**
 * The host-only adapter with our address (reused, never duplicated), created and
 * configured if missing, and its DHCP server (added or corrected). Returns its name (vboxnetN).
 */
export async function ensureHostOnlyNetwork(vbm: VBoxManage, ctx: OpContext, cidr: Cidr, o: HostOnlyOptions): Promise<string> {
  let ifs = parseHostOnlyIfs(await vbm.run(["list", "hostonlyifs"]));
  const mine = ifs.filter((i) => i.ip === cidr.ip && prefixOfMask(i.netmask) === cidr.prefix);
  if (mine.length > 1) throw new TsmError("VBOX_HOSTONLY_DUPLICATE", `VirtualBox has several host-only adapters with the address ${cidr.ip}: ${mine.map((i) => i.name).join(", ")}; remove the extra ones`);
  let iface = mine[0]?.name;
  if (iface === undefined) {
    ctx.log(`Creating a host-only network for ${hostCidrOf(cidr)}...`);
    const out = await vbm.run(["hostonlyif", "create"]);
    iface = parseHostOnlyIfCreate(out);
    if (!iface) throw new TsmError("VBOX_HOSTONLY_CREATE", `VBoxManage hostonlyif create did not name the new adapter: ${out.trim()}`);
    // Docker Machine saw new adapters appear late on Windows: wait until VirtualBox lists it.
    for (let i = 0; ; i++) {
      ifs = parseHostOnlyIfs(await vbm.run(["list", "hostonlyifs"]));
      if (ifs.some((x) => x.name === iface)) break;
      if (i >= 10) throw new TsmError("VBOX_HOSTONLY_CREATE", `The host-only adapter ${iface} we just created is not visible; try again, or restart VirtualBox's service`);
      await o.sleep(1000, `waiting for the host-only adapter ${iface}`);
    }
    const ipconfig = ["hostonlyif", "ipconfig", iface, `--ip=${cidr.ip}`, `--netmask=${cidr.netmask}`];
    const r = await vbm.tryRun(ipconfig);
    if (!r.ok) {
      if (/E_ACCESSDENIED/.test(r.stderr)) {
        throw new TsmError(
          "VBOX_HOSTONLY_RANGE",
          `VirtualBox refused the address ${hostCidrOf(cidr)} for ${iface} (E_ACCESSDENIED): host-only addresses must lie in 192.168.56.0/21 unless ${NETWORKS_CONF} allows more`,
          { details: errorDetails(r.stderr) },
        );
      }
      throw new VBoxManageError(ipconfig, r.stderr, r.exitCode);
    }
  }
  await ensureDhcp(vbm, iface, cidr, o.noDhcp);
  return iface;
}

/** The adapter's DHCP server serves our range (or, disabled, does not serve at all). */
async function ensureDhcp(vbm: VBoxManage, iface: string, cidr: Cidr, noDhcp: boolean): Promise<void> {
  const plan = dhcpPlan(cidr);
  const netName = `HostInterfaceNetworking-${iface}`;
  const existing = parseDhcpServers(await vbm.run(["list", "dhcpservers"])).find((d) => d.networkName === netName);
  const settings = [`--server-ip=${plan.serverIp}`, `--netmask=${plan.netmask}`, `--lower-ip=${plan.lowerIp}`, `--upper-ip=${plan.upperIp}`, noDhcp ? "--disable" : "--enable"];
  if (!existing) {
    await vbm.run(["dhcpserver", "add", `--interface=${iface}`, ...settings]);
    return;
  }
  const same =
    existing.ip === plan.serverIp &&
    existing.netmask === plan.netmask &&
    existing.lowerIp === plan.lowerIp &&
    existing.upperIp === plan.upperIp &&
    existing.enabled === !noDhcp;
  // Another machine's settings for this adapter are kept when they serve our range.
  const usable = existing.enabled && !noDhcp && existing.netmask === plan.netmask && dhcpRangeServes(existing, cidr);
  if (!same && !usable) await vbm.run(["dhcpserver", "modify", `--interface=${iface}`, ...settings]);
}

function errorDetails(stderr: string): string[] {
  return stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}
