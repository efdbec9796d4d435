/**
 * Parsers on VBoxManage output as VirtualBox prints it. Samples (abridged, reformatted only
 * where a forum or issue page wrapped lines) from public captures:
 * - showvminfo --machinereadable: myspaghetti/macos-virtualbox#340 (VirtualBox 6.1 on Linux),
 *   docker/machine#2004 (VMState lines);
 * - list hostonlyifs: kubernetes/minikube#12764 (VirtualBox 6.1.28, vboxnet10/11);
 * - list dhcpservers: NixOS/nixops#411 (pre-6.1 layout) and VirtualBox 6.1+'s layout;
 * - errors: hashicorp/vagrant#9753 (VERR_VMX_NO_VMX), hashicorp/packer#184 (session lock),
 *   cuckoosandbox/cuckoo#1402 (machine not found).
 */
import { describe, expect, it } from "vitest";
import {
  ipv4ForMac,
  machineStateOf,
  natRules,
  parseDhcpServers,
  parseGuestProperty,
  parseHostOnlyIfCreate,
  parseHostOnlyIfs,
  parseMachineReadable,
  parseMedia,
  parseVersion,
  parseVmList,
  versionAtLeast,
} from "../../../drivers/virtualbox/parse.js";
import { errorLines, findVBoxManage, isNotFound, isTransient, vboxManageCandidates, vtxProblem } from "../../../drivers/virtualbox/vboxmanage.js";

const SHOWVMINFO = `name="macOS"
groups="/"
ostype="macOS 10.13 High Sierra (64-bit)"
UUID="2aae3625-32fc-4d07-924e-095d79ad1190"
CfgFile="/home/panweiji/VirtualBox VMs/macOS/macOS.vbox"
SnapFldr="/home/panweiji/VirtualBox VMs/macOS/Snapshots"
LogFldr="/home/panweiji/VirtualBox VMs/macOS/Logs"
hardwareuuid="2aae3625-32fc-4d07-924e-095d79ad1190"
memory=128
pagefusion="off"
vram=8
cpuexecutioncap=100
hpet="off"
cpu-profile="host"
chipset="piix3"
firmware="BIOS"
cpus=1
VMState="poweroff"
VMStateChangeTime="2021-01-04T08:02:15.000000000"
"SATA-0-0"="/home/panweiji/VirtualBox VMs/macOS/macOS.vdi"
"SATA-ImageUUID-0-0"="6a4b3c1e-0d28-4bd5-a1f8-0b8a3b2bb8a0"
natnet1="nat"
macaddress1="080027A1B2C3"
cableconnected1="on"
nic1="nat"
nictype1="82540EM"
Forwarding(0)="ssh,tcp,127.0.0.1,43251,,22"
Forwarding(1)="web,tcp,,8080,,80"
hostonlyadapter2="vboxnet0"
macaddress2="0800271C9107"
nic2="hostonly"
description="a \\"quoted\\" value\\nand a second line"
`;

const HOSTONLYIFS = `Name:            vboxnet10
GUID:            786f6276-656e-4174-b000-0a002700000a
DHCP:            Disabled
IPAddress:       192.168.66.1
NetworkMask:     255.255.255.0
IPV6Address:     
IPV6NetworkMaskPrefixLength: 0
HardwareAddress: 0a:00:27:00:00:0a
MediumType:      Ethernet
Wireless:        No
Status:          Down
VBoxNetworkName: HostInterfaceNetworking-vboxnet10

Name:            vboxnet11
GUID:            786f6276-656e-4174-b100-0a002700000b
DHCP:            Disabled
IPAddress:       192.168.67.1
NetworkMask:     255.255.255.0
IPV6Address:     
IPV6NetworkMaskPrefixLength: 0
HardwareAddress: 0a:00:27:00:00:0b
MediumType:      Ethernet
Wireless:        No
Status:          Down
VBoxNetworkName: HostInterfaceNetworking-vboxnet11

`;

const DHCP_OLD = `NetworkName:    HostInterfaceNetworking-vboxnet0
IP:             192.168.56.100
NetworkMask:    255.255.255.0
lowerIPAddress: 192.168.56.101
upperIPAddress: 192.168.56.254
Enabled:        Yes

NetworkName:    HostInterfaceNetworking-vboxnet1
IP:             0.0.0.0
NetworkMask:    0.0.0.0
lowerIPAddress: 0.0.0.0
upperIPAddress: 0.0.0.0
Enabled:        No
`;

const DHCP_61 = `NetworkName:    HostInterfaceNetworking-vboxnet0
Dhcpd IP:       192.168.56.100
LowerIPAddress: 192.168.56.101
UpperIPAddress: 192.168.56.254
NetworkMask:    255.255.255.0
Enabled:        Yes
Global Configuration:
    minLeaseTime:     default
    defaultLeaseTime: default
    maxLeaseTime:     default
    Forced options:   None
    Suppressed opts.: None
        1/legacy: 255.255.255.0
Groups:               None
Individual Configs:   None

`;

describe("VBoxManage output parsers", () => {
  it("showvminfo --machinereadable: quoted keys, numbers, escapes, NAT rules", () => {
    const info = parseMachineReadable(SHOWVMINFO);
    expect(info.get("VMState")).toBe("poweroff");
    expect(info.get("memory")).toBe("128");
    expect(info.get("CfgFile")).toBe("/home/panweiji/VirtualBox VMs/macOS/macOS.vbox");
    expect(info.get("SATA-0-0")).toBe("/home/panweiji/VirtualBox VMs/macOS/macOS.vdi");
    expect(info.get("hostonlyadapter2")).toBe("vboxnet0");
    expect(info.get("description")).toBe('a "quoted" value\nand a second line');
    expect(natRules(info)).toEqual([
      { name: "ssh", proto: "tcp", hostIp: "127.0.0.1", hostPort: 43251, guestIp: "", guestPort: 22 },
      { name: "web", proto: "tcp", hostIp: "", hostPort: 8080, guestIp: "", guestPort: 80 },
    ]);
  });

  it("VMState to Docker Machine's states", () => {
    expect(machineStateOf("running")).toBe("Running");
    expect(machineStateOf("paused")).toBe("Paused");
    expect(machineStateOf("saved")).toBe("Saved");
    expect(machineStateOf("poweroff")).toBe("Stopped");
    expect(machineStateOf("aborted")).toBe("Stopped");
    expect(machineStateOf("stopping")).toBe("Stopping");
    expect(machineStateOf("starting")).toBe("Starting");
    expect(machineStateOf("gurumeditation")).toBe("Error");
    expect(machineStateOf("whatever")).toBe("");
  });

  it("list hostonlyifs", () => {
    expect(parseHostOnlyIfs(HOSTONLYIFS)).toEqual([
      { name: "vboxnet10", ip: "192.168.66.1", netmask: "255.255.255.0", dhcp: false, mac: "0a:00:27:00:00:0a", networkName: "HostInterfaceNetworking-vboxnet10" },
      { name: "vboxnet11", ip: "192.168.67.1", netmask: "255.255.255.0", dhcp: false, mac: "0a:00:27:00:00:0b", networkName: "HostInterfaceNetworking-vboxnet11" },
    ]);
    expect(parseHostOnlyIfs("")).toEqual([]);
  });

  it("list dhcpservers, both layouts, nested blocks skipped", () => {
    expect(parseDhcpServers(DHCP_OLD)).toEqual([
      { networkName: "HostInterfaceNetworking-vboxnet0", ip: "192.168.56.100", netmask: "255.255.255.0", lowerIp: "192.168.56.101", upperIp: "192.168.56.254", enabled: true },
      { networkName: "HostInterfaceNetworking-vboxnet1", ip: "0.0.0.0", netmask: "0.0.0.0", lowerIp: "0.0.0.0", upperIp: "0.0.0.0", enabled: false },
    ]);
    expect(parseDhcpServers(DHCP_61)).toEqual([
      { networkName: "HostInterfaceNetworking-vboxnet0", ip: "192.168.56.100", netmask: "255.255.255.0", lowerIp: "192.168.56.101", upperIp: "192.168.56.254", enabled: true },
    ]);
  });

  it("list vms, list hdds, guestproperty get, hostonlyif create, --version", () => {
    expect(parseVmList('"default" {d0ad2b9c-1e1f-4b4a-9f3b-3a3c6c1b2a10}\n"my \\"vm\\" 2" {D0AD2B9C-1E1F-4B4A-9F3B-3A3C6C1B2A11}\n')).toEqual([
      { name: "default", uuid: "d0ad2b9c-1e1f-4b4a-9f3b-3a3c6c1b2a10" },
      { name: 'my \\"vm\\" 2', uuid: "d0ad2b9c-1e1f-4b4a-9f3b-3a3c6c1b2a11" },
    ]);
    expect(
      parseMedia("UUID:           6a7b\nParent UUID:    base\nState:          created\nType:           normal (base)\nLocation:       /m/disk.vdi\nStorage format: VDI\nCapacity:       20000 MBytes\nEncryption:     disabled\n\n"),
    ).toEqual([{ uuid: "6a7b", parentUuid: "base", location: "/m/disk.vdi", state: "created" }]);
    expect(parseGuestProperty("No value set!\n")).toBeUndefined();
    expect(parseGuestProperty("Value: 192.168.59.101\n")).toBe("192.168.59.101");
    expect(parseHostOnlyIfCreate("Interface 'vboxnet12' was successfully created\n")).toBe("vboxnet12");
    expect(parseVersion("7.0.14r161095\n")).toMatchObject({ major: 7, minor: 0, patch: 14 });
    expect(parseVersion("6.1.38_Debianr153438\n")).toMatchObject({ major: 6, minor: 1, patch: 38 });
    expect(parseVersion("WARNING: The vboxdrv kernel module is not loaded.\n7.1.4r165100\n")).toMatchObject({ major: 7, minor: 1, patch: 4 });
    expect(parseVersion("garbage")).toBeUndefined();
    expect(versionAtLeast(parseVersion("6.1.28r1")!, 6, 1, 28)).toBe(true);
    expect(versionAtLeast(parseVersion("6.1.26r1")!, 6, 1, 28)).toBe(false);
    expect(versionAtLeast(parseVersion("7.0.0r1")!, 6, 1, 28)).toBe(true);
  });

  it("the host-only address from `ip -o link` and `ip -o -4 addr show`", () => {
    const link =
      "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n" +
      "2: enp0s3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP mode DEFAULT group default qlen 1000\\    link/ether 08:00:27:5f:49:1c brd ff:ff:ff:ff:ff:ff\n" +
      "3: enp0s8: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP mode DEFAULT group default qlen 1000\\    link/ether 08:00:27:1c:91:07 brd ff:ff:ff:ff:ff:ff\n" +
      "4: eth0@if12: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default \\    link/ether 02:42:ac:11:00:02 brd ff:ff:ff:ff:ff:ff link-netnsid 0\n";
    const addr =
      "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n" +
      "2: enp0s3    inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic enp0s3\\       valid_lft 86250sec preferred_lft 86250sec\n" +
      "3: enp0s8    inet 192.168.59.101/24 brd 192.168.59.255 scope global dynamic enp0s8\\       valid_lft 550sec preferred_lft 550sec\n" +
      "4: eth0    inet 172.17.0.2/16 brd 172.17.255.255 scope global eth0\\       valid_lft forever preferred_lft forever\n";
    expect(ipv4ForMac(link, addr, "0800271C9107")).toBe("192.168.59.101");
    expect(ipv4ForMac(link, addr, "02:42:AC:11:00:02")).toBe("172.17.0.2");
    expect(ipv4ForMac(link, addr, "080027000000")).toBeUndefined();
    expect(ipv4ForMac(link, "", "0800271C9107")).toBeUndefined();
  });
});

describe("VBoxManage errors and location", () => {
  it("classifies errors", () => {
    const vtx = "VBoxManage: error: VT-x is not available (VERR_VMX_NO_VMX)\nVBoxManage: error: Details: code NS_ERROR_FAILURE (0x80004005), component ConsoleWrap, interface IConsole\n";
    expect(vtxProblem(vtx)).toBe("VT-x is not available");
    expect(vtxProblem("VBoxManage: error: AMD-V is disabled in the BIOS (or by the host OS) (VERR_SVM_DISABLED)")).toBe("AMD-V is disabled");
    expect(vtxProblem("VBoxManage: error: Could not find a registered machine named 'x'")).toBeUndefined();
    expect(errorLines(vtx)).toEqual(["VT-x is not available (VERR_VMX_NO_VMX)", "Details: code NS_ERROR_FAILURE (0x80004005), component ConsoleWrap, interface IConsole"]);
    const locked =
      "VBoxManage: error: The machine 'packer-centos' is already locked for a session (or being unlocked)\nVBoxManage: error: Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component Machine, interface IMachine, callee nsISupports\nVBoxManage: error: Context: \"LockMachine(a->session, LockType_Write)\" at line 425 of file VBoxManageModifyVM.cpp\n";
    expect(isTransient(locked)).toBe(true);
    expect(isTransient("VBoxManage: error: The machine 'x' is already locked by a session (or being locked or unlocked)\nVBoxManage: error: Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007)")).toBe(false);
    expect(isNotFound("VBoxManage: error: Could not find a registered machine named 'windows7'\nVBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001)")).toBe(true);
  });

  it("finds VBoxManage on PATH, in VBOX_INSTALL_PATH / VBOX_MSI_INSTALL_PATH on Windows, in the macOS bundle", () => {
    expect(findVBoxManage({ PATH: "/nope:/usr/bin" }, "linux", (p) => p === "/usr/bin/VBoxManage")).toBe("/usr/bin/VBoxManage");
    expect(findVBoxManage({ PATH: "/nope" }, "linux", () => false)).toBeUndefined();
    const win = vboxManageCandidates({ Path: "C:\\Windows", VBOX_MSI_INSTALL_PATH: "D:\\VirtualBox\\" }, "win32");
    expect(win).toEqual(["C:\\Windows\\VBoxManage.exe", "D:\\VirtualBox\\VBoxManage.exe", "C:\\Program Files\\Oracle\\VirtualBox\\VBoxManage.exe"]);
    expect(findVBoxManage({ PATH: "C:\\Windows", VBOX_INSTALL_PATH: "E:\\VB" }, "win32", (p) => p === "E:\\VB\\VBoxManage.exe")).toBe("E:\\VB\\VBoxManage.exe");
    expect(findVBoxManage({ PATH: "/usr/bin" }, "darwin", (p) => p === "/Applications/VirtualBox.app/Contents/MacOS/VBoxManage")).toBe(
      "/Applications/VirtualBox.app/Contents/MacOS/VBoxManage",
    );
  });
});
