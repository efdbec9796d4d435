/**
 * Parsers for VBoxManage's output, as VirtualBox 6.1 and 7.x print it.
 *
 * Formats (VirtualBox manual, chapter 8 "VBoxManage"; samples quoted in
 * test/unit/virtualbox/parse.test.ts with their sources):
 * - `showvminfo <vm> --machinereadable`: one `key=value` per line; keys that are not plain
 *   identifiers are quoted (`"SATA-0-0"="/path"`), string values are quoted with `\` and `"`
 *   escaped by a backslash, numbers are bare (`memory=1024`).
 * - `list hostonlyifs`, `list dhcpservers`, `list hdds`, `list dvds`: blocks separated by
 *   blank lines, each line `Key:   value` (the key ends at the first colon). VirtualBox 6.1+
 *   adds indented sub-blocks to `list dhcpservers` ("Global Configuration:"), which are skipped.
 * - `list vms`: `"name" {uuid}` per line.
 * - `guestproperty get`: `Value: <v>` or `No value set!`.
 * - `hostonlyif create`: `Interface 'vboxnet0' was successfully created`.
 * - `--version`: `7.0.14r161095` (Debian's build appends `_Debian`, some builds `_Ubuntu`).
 */

/** `showvminfo --machinereadable` as a key -> value map (quotes removed, escapes undone). */
export function parseMachineReadable(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (line === "") continue;
    let key: string;
    let rest: string;
    if (line.startsWith('"')) {
      const end = scanQuoted(line, 0);
      if (end < 0 || line[end + 1] !== "=") continue;
      key = unescape(line.slice(1, end));
      rest = line.slice(end + 2);
    } else {
      const eq = line.indexOf("=");
      if (eq <= 0) continue;
      key = line.slice(0, eq);
      rest = line.slice(eq + 1);
    }
    if (rest.startsWith('"')) {
      const end = scanQuoted(rest, 0);
      out.set(key, unescape(rest.slice(1, end < 0 ? rest.length : end)));
    } else {
      out.set(key, rest);
    }
  }
  return out;
}

/** Index of the closing quote of the quoted string starting at `start`, or -1. */
function scanQuoted(s: string, start: number): number {
  for (let i = start + 1; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, (_m, c: string) => (c === "n" ? "\n" : c));
}

/** Blocks of `Key: value` lines separated by blank lines; indented lines (sub-blocks) are skipped. */
export function parseBlocks(text: string): Array<Map<string, string>> {
  const blocks: Array<Map<string, string>> = [];
  let current = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === "") {
      if (current.size > 0) blocks.push(current);
      current = new Map();
      continue;
    }
    if (/^\s/.test(raw)) continue;
    const colon = raw.indexOf(":");
    if (colon <= 0) continue;
    const key = raw.slice(0, colon).trim();
    // A new block may start without a blank line when a key repeats (defensive).
    if (current.has(key) && (key === "Name" || key === "NetworkName" || key === "UUID")) {
      blocks.push(current);
      current = new Map();
    }
    current.set(key, raw.slice(colon + 1).trim());
  }
  if (current.size > 0) blocks.push(current);
  return blocks;
}

export interface HostOnlyIf {
  name: string;
  ip: string;
  netmask: string;
  dhcp: boolean;
  mac: string;
  networkName: string;
}

export function parseHostOnlyIfs(text: string): HostOnlyIf[] {
  return parseBlocks(text)
    .filter((b) => b.has("Name"))
    .map((b) => ({
      name: b.get("Name") ?? "",
      ip: b.get("IPAddress") ?? "",
      netmask: b.get("NetworkMask") ?? "",
      dhcp: /^enabled$/i.test(b.get("DHCP") ?? ""),
      mac: (b.get("HardwareAddress") ?? "").toLowerCase(),
      networkName: b.get("VBoxNetworkName") ?? `HostInterfaceNetworking-${b.get("Name") ?? ""}`,
    }));
}

export interface DhcpServer {
  networkName: string;
  ip: string;
  netmask: string;
  lowerIp: string;
  upperIp: string;
  enabled: boolean;
}

/** Both layouts: VirtualBox 6.1/7 (`Dhcpd IP`, `LowerIPAddress`) and older (`IP`, `lowerIPAddress`). */
export function parseDhcpServers(text: string): DhcpServer[] {
  return parseBlocks(text)
    .filter((b) => b.has("NetworkName"))
    .map((b) => {
      const get = (...keys: string[]): string => {
        for (const [k, v] of b) if (keys.some((want) => want.toLowerCase() === k.toLowerCase())) return v;
        return "";
      };
      return {
        networkName: get("NetworkName"),
        ip: get("Dhcpd IP", "IP"),
        netmask: get("NetworkMask"),
        lowerIp: get("LowerIPAddress"),
        upperIp: get("UpperIPAddress"),
        enabled: /^yes$/i.test(get("Enabled")),
      };
    });
}

export interface Medium {
  uuid: string;
  parentUuid: string;
  location: string;
  state: string;
}

/** `list hdds` / `list dvds`. */
export function parseMedia(text: string): Medium[] {
  return parseBlocks(text)
    .filter((b) => b.has("UUID"))
    .map((b) => ({
      uuid: b.get("UUID") ?? "",
      parentUuid: b.get("Parent UUID") ?? "base",
      location: b.get("Location") ?? "",
      state: b.get("State") ?? "",
    }));
}

/** `list vms`: name and UUID per VM (names may contain quotes and spaces; the UUID ends the line). */
export function parseVmList(text: string): Array<{ name: string; uuid: string }> {
  const out: Array<{ name: string; uuid: string }> = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^"(.*)" \{([0-9a-fA-F-]{36})\}\s*$/.exec(line);
    if (m) out.push({ name: m[1]!, uuid: m[2]!.toLowerCase() });
  }
  return out;
}

/** `guestproperty get`: the value, or undefined for "No value set!". */
export function parseGuestProperty(text: string): string | undefined {
  const m = /^Value: (.*)$/m.exec(text);
  return m ? m[1]!.trim() : undefined;
}

/** `hostonlyif create`: the new interface's name. */
export function parseHostOnlyIfCreate(text: string): string | undefined {
  return /Interface '(.+?)' was successfully created/.exec(text)?.[1];
}

export interface VBoxVersion {
  major: number;
  minor: number;
  patch: number;
  raw: string;
}

export function parseVersion(text: string): VBoxVersion | undefined {
  const raw = text.trim().split(/\r?\n/).pop()?.trim() ?? "";
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(raw);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), raw };
}

export function versionAtLeast(v: VBoxVersion, major: number, minor: number, patch: number): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

/** Docker Machine's state names from VMState. */
export type VmState = "Running" | "Paused" | "Saved" | "Stopped" | "Stopping" | "Starting" | "Error" | "";

export function machineStateOf(vmState: string | undefined): VmState {
  switch (vmState) {
    case "running":
    case "teleporting":
    case "livesnapshotting":
    case "onlinesnapshotting":
      return "Running";
    case "paused":
      return "Paused";
    case "saved":
      return "Saved";
    case "poweroff":
    case "aborted":
    case "teleported":
      return "Stopped";
    case "stopping":
    case "saving":
      return "Stopping";
    case "starting":
    case "restoring":
      return "Starting";
    case "gurumeditation":
    case "stuck":
      return "Error";
    default:
      return "";
  }
}

/** The NAT port-forwarding rules of a NIC from showvminfo (`Forwarding(0)="ssh,tcp,127.0.0.1,2222,,22"`). */
export function natRules(info: Map<string, string>): Array<{ name: string; proto: string; hostIp: string; hostPort: number; guestIp: string; guestPort: number }> {
  const out = [];
  for (const [k, v] of info) {
    if (!/^Forwarding\(\d+\)$/.test(k)) continue;
    const [name = "", proto = "", hostIp = "", hostPort = "", guestIp = "", guestPort = ""] = v.split(",");
    out.push({ name, proto, hostIp, hostPort: Number(hostPort), guestIp, guestPort: Number(guestPort) });
  }
  return out;
}

/**
 * From `ip -o link` and `ip -o -4 addr show` output: the IPv4 address of the interface whose
 * MAC is `mac` (any notation: 080027aabbcc, 08:00:27:AA:BB:CC).
 */
export function ipv4ForMac(ipLink: string, ipAddr: string, mac: string): string | undefined {
  const want = mac.toLowerCase().replace(/[^0-9a-f]/g, "");
  let ifName: string | undefined;
  for (const line of ipLink.split("\n")) {
    const m = /^\d+:\s+([^:@\s]+)(?:@[^:\s]+)?:.*\blink\/ether\s+([0-9a-fA-F:]{17})/.exec(line);
    if (m && m[2]!.toLowerCase().replace(/:/g, "") === want) {
      ifName = m[1];
      break;
    }
  }
  if (ifName === undefined) return undefined;
  for (const line of ipAddr.split("\n")) {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+)\//.exec(line);
    if (m && m[1] === ifName) return m[2];
  }
  return undefined;
}
