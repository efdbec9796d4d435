import { describe, expect, it } from "vitest";
import {
  checkHostOnlyCidr,
  DEFAULT_HOSTONLY_CIDR,
  dhcpPlan,
  hostNetworkCollision,
  hostOnlyRangeAllowed,
  parseCidr,
  parseNetworksConf,
} from "../../../drivers/virtualbox/network.js";
import { colonMac, machineMac } from "../../../drivers/virtualbox/mac.js";
import { hasHardwareVirtualization } from "../../../drivers/virtualbox/driver.js";
import { settingsFromFlags } from "../../../drivers/virtualbox/settings.js";

describe("host-only network arithmetic", () => {
  it("the default CIDR lies in 192.168.56.0/21, the range VirtualBox 6.1.28+ allows", () => {
    expect(hostOnlyRangeAllowed(DEFAULT_HOSTONLY_CIDR, undefined)).toEqual({ ok: true, allowed: ["192.168.56.0/21"] });
    expect(hostOnlyRangeAllowed("192.168.99.1/24", undefined).ok).toBe(false); // Docker Machine's old default
    expect(hostOnlyRangeAllowed("192.168.63.1/24", undefined).ok).toBe(true);
    expect(hostOnlyRangeAllowed("192.168.64.1/24", undefined).ok).toBe(false);
    expect(hostOnlyRangeAllowed("192.168.56.1/20", undefined).ok).toBe(false);
  });

  it("/etc/vbox/networks.conf widens (or replaces) the allowed ranges", () => {
    const conf = "# comment\n* 10.0.0.0/8 192.168.0.0/16\n* 2001::/64\n";
    expect(parseNetworksConf(conf)).toEqual(["10.0.0.0/8", "192.168.0.0/16"]);
    expect(hostOnlyRangeAllowed("192.168.99.1/24", conf).ok).toBe(true);
    expect(hostOnlyRangeAllowed("172.16.0.1/24", conf).ok).toBe(false);
    expect(hostOnlyRangeAllowed("192.168.59.1/24", "").ok).toBe(false);
  });

  it("validates the flag as Docker Machine did (a host address, not the network)", () => {
    expect(checkHostOnlyCidr("192.168.59.1/24")).toBeUndefined();
    expect(checkHostOnlyCidr("192.168.59.0/24")).toMatch(/network address.*192\.168\.59\.1\/24/);
    expect(checkHostOnlyCidr("192.168.59.255/24")).toMatch(/broadcast/);
    expect(checkHostOnlyCidr("192.168.59.1")).toMatch(/prefix/);
    expect(checkHostOnlyCidr("192.168.59.1/30")).toMatch(/between 8 and 29/);
    expect(() => settingsFromFlags({ "virtualbox-hostonly-cidr": "192.168.59.0/24" })).toThrow(/--virtualbox-hostonly-cidr/);
  });

  it("plans the DHCP server like VirtualBox's default, never leasing the host's address", () => {
    expect(dhcpPlan(parseCidr("192.168.59.1/24")!)).toEqual({ serverIp: "192.168.59.100", netmask: "255.255.255.0", lowerIp: "192.168.59.101", upperIp: "192.168.59.254" });
    expect(dhcpPlan(parseCidr("192.168.59.200/24")!)).toEqual({ serverIp: "192.168.59.100", netmask: "255.255.255.0", lowerIp: "192.168.59.101", upperIp: "192.168.59.199" });
    expect(dhcpPlan(parseCidr("192.168.59.100/24")!)).toEqual({ serverIp: "192.168.59.2", netmask: "255.255.255.0", lowerIp: "192.168.59.101", upperIp: "192.168.59.254" });
    expect(dhcpPlan(parseCidr("192.168.59.1/28")!)).toEqual({ serverIp: "192.168.59.2", netmask: "255.255.255.240", lowerIp: "192.168.59.3", upperIp: "192.168.59.14" });
  });

  it("detects a host network that overlaps the host-only network (not our own adapter)", () => {
    const host = [
      { iface: "lo", address: "127.0.0.1", netmask: "255.0.0.0", family: "IPv4" },
      { iface: "wlan0", address: "192.168.59.23", netmask: "255.255.255.0", family: "IPv4" },
      { iface: "vboxnet0", address: "192.168.58.1", netmask: "255.255.255.0", family: "IPv4" },
    ];
    expect(hostNetworkCollision("192.168.59.1/24", host, [])?.iface).toBe("wlan0");
    expect(hostNetworkCollision("192.168.58.1/24", host, ["192.168.58.1"])).toBeUndefined();
    expect(hostNetworkCollision("192.168.57.1/24", host, [])).toBeUndefined();
  });

  it("derives stable, distinct, unicast MACs from the store and the machine name", () => {
    const a = machineMac("/s", "vb1", 2);
    expect(a).toMatch(/^080027[0-9A-F]{6}$/);
    expect(machineMac("/s", "vb1", 2)).toBe(a);
    expect(machineMac("/s", "vb2", 2)).not.toBe(a);
    expect(machineMac("/other", "vb1", 2)).not.toBe(a);
    expect(machineMac("/s", "vb1", 1)).not.toBe(a);
    expect(colonMac("0800271C9107")).toBe("08:00:27:1c:91:07");
  });

  it("reads VT-x/AMD-V from /proc/cpuinfo", () => {
    expect(hasHardwareVirtualization("processor\t: 0\nflags\t\t: fpu vme vmx ssse3\n")).toBe(true);
    expect(hasHardwareVirtualization("flags\t\t: fpu svm\n")).toBe(true);
    expect(hasHardwareVirtualization("flags\t\t: fpu vme hypervisor\n")).toBe(false);
  });
});

describe("flags", () => {
  it("Docker Machine's defaults", () => {
    const { config, enginePort } = settingsFromFlags({});
    expect(enginePort).toBe(2376);
    expect(config).toMatchObject({
      memory: 1024,
      cpuCount: 1,
      diskSizeMb: 20000,
      hostOnlyCidr: "192.168.59.1/24",
      hostOnlyNicType: "82540EM",
      hostOnlyNicPromisc: "deny",
      hostOnlyNoDhcp: false,
      natNicType: "82540EM",
      noShare: false,
      shareFolder: "",
      uiType: "headless",
      noVtxCheck: false,
      hostDnsResolver: false,
      noDnsProxy: false,
    });
    expect(config.imageUrl).toMatch(/^https:\/\/cloud\.debian\.org\/images\/cloud\/trixie\/latest\/debian-13-generic-(amd64|arm64)\.raw$/);
  });

  it("refuses bad values, naming the flag", () => {
    expect(() => settingsFromFlags({ "virtualbox-hostonly-nictype": "e1000" })).toThrow(/--virtualbox-hostonly-nictype.*82540EM/);
    expect(() => settingsFromFlags({ "virtualbox-hostonly-nicpromisc": "yes" })).toThrow(/--virtualbox-hostonly-nicpromisc/);
    expect(() => settingsFromFlags({ "virtualbox-ui-type": "tv" })).toThrow(/--virtualbox-ui-type/);
    expect(() => settingsFromFlags({ "virtualbox-memory": 10 })).toThrow(/--virtualbox-memory/);
    expect(() => settingsFromFlags({ "virtualbox-share-folder": "/data" })).toThrow(/HOSTDIR:NAME/);
    expect(() => settingsFromFlags({ "virtualbox-share-folder": "C:\\Users" })).toThrow(/HOSTDIR:NAME/);
    expect(settingsFromFlags({ "virtualbox-share-folder": "C:\\Users:c/Users" }).config.shareFolder).toBe("C:\\Users:c/Users");
    expect(settingsFromFlags({ "virtualbox-hostonly-nictype": "VIRTIO" }).config.hostOnlyNicType).toBe("virtio");
  });
});
