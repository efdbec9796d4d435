/**
 * A recording Exec for the virtualbox driver's golden tests: answers the VBoxManage calls the
 * driver makes from a small in-memory model (one VM, host-only adapters, DHCP servers, media),
 * records every argument list, and throws on anything it does not know, so an unexpected call
 * fails the test loudly. The strict model of VBoxManage is the stand-in (test/vbox); this fake
 * only pins the exact argument lists.
 */
import type { Exec, ExecResult } from "../../../src/exec/exec.js";
import type { DriverHost, OpContext } from "../../../src/model/driver.js";
import type { Remote } from "../../../src/provision/remote.js";
import type { VBoxDeps } from "../../../drivers/virtualbox/deps.js";

export const BIN = "/usr/bin/VBoxManage";
export const STORE = "/store";
export const MACHINE_DIR = "/store/machines/vb1";

export interface FakeVm {
  state: string;
  natpf: string[];
}

export class FakeVBox {
  calls: string[][] = [];
  vm: FakeVm | undefined;
  hostonlyifs: Array<{ name: string; ip: string; mask: string }> = [];
  dhcp: Array<{ net: string; ip: string; mask: string; lower: string; upper: string; enabled: boolean }> = [];
  media: Array<{ kind: "hdds" | "dvds"; location: string }> = [];

  exec: Exec = async (file, args) => {
    if (file !== BIN) throw new Error(`unexpected program ${file}`);
    this.calls.push([...args]);
    return this.answer([...args]);
  };

  private ok(stdout = ""): ExecResult {
    return { stdout, stderr: "", exitCode: 0 };
  }

  private answer(a: string[]): ExecResult {
    const [cmd, ...rest] = a;
    switch (cmd) {
      case "--version":
        return this.ok("7.0.20r163906\n");
      case "list":
        switch (rest[0]) {
          case "vms":
            return this.ok(this.vm ? `"vb1" {11111111-2222-3333-4444-555555555555}\n` : "");
          case "hostonlyifs":
            return this.ok(
              this.hostonlyifs
                .map((h) => `Name:            ${h.name}\nDHCP:            Disabled\nIPAddress:       ${h.ip}\nNetworkMask:     ${h.mask}\nVBoxNetworkName: HostInterfaceNetworking-${h.name}\n\n`)
                .join(""),
            );
          case "dhcpservers":
            return this.ok(
              this.dhcp
                .map((d) => `NetworkName:    ${d.net}\nDhcpd IP:       ${d.ip}\nLowerIPAddress: ${d.lower}\nUpperIPAddress: ${d.upper}\nNetworkMask:    ${d.mask}\nEnabled:        ${d.enabled ? "Yes" : "No"}\n\n`)
                .join(""),
            );
          case "hdds":
          case "dvds":
            return this.ok(this.media.filter((m) => m.kind === rest[0]).map((m, i) => `UUID:           0000000${i}-0000-0000-0000-000000000000\nLocation:       ${m.location}\n\n`).join(""));
        }
        break;
      case "showvminfo":
        if (!this.vm) return { stdout: "", stderr: "VBoxManage: error: Could not find a registered machine named 'vb1'\nVBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001)\n", exitCode: 1 };
        return this.ok(`name="vb1"\nVMState="${this.vm.state}"\n${this.vm.natpf.map((r, i) => `Forwarding(${i})="${r}"\n`).join("")}`);
      case "createvm":
        this.vm = { state: "poweroff", natpf: [] };
        return this.ok("Virtual machine 'vb1' is created and registered.\n");
      case "modifyvm": {
        const i = rest.indexOf("--natpf1");
        if (i >= 0 && this.vm) {
          if (rest[i + 1] === "delete") this.vm.natpf = this.vm.natpf.filter((r) => !r.startsWith(`${rest[i + 2]},`));
          else this.vm.natpf.push(rest[i + 1]!);
        }
        return this.ok();
      }
      case "hostonlyif":
        if (rest[0] === "create") {
          this.hostonlyifs.push({ name: "vboxnet0", ip: "192.168.56.1", mask: "255.255.255.0" });
          return this.ok("Interface 'vboxnet0' was successfully created\n");
        }
        if (rest[0] === "ipconfig") {
          const h = this.hostonlyifs.find((x) => x.name === rest[1])!;
          h.ip = rest.find((x) => x.startsWith("--ip="))!.slice(5);
          h.mask = rest.find((x) => x.startsWith("--netmask="))!.slice(10);
          return this.ok();
        }
        break;
      case "dhcpserver": {
        const get = (k: string) => rest.find((x) => x.startsWith(`${k}=`))?.slice(k.length + 1) ?? "";
        const net = `HostInterfaceNetworking-${get("--interface")}`;
        this.dhcp = this.dhcp.filter((d) => d.net !== net);
        this.dhcp.push({ net, ip: get("--server-ip"), mask: get("--netmask"), lower: get("--lower-ip"), upper: get("--upper-ip"), enabled: rest.includes("--enable") });
        return this.ok();
      }
      case "startvm":
        this.vm!.state = "running";
        return this.ok('Waiting for VM "vb1" to power on...\nVM "vb1" has been successfully started.\n');
      case "controlvm":
        if (rest[1] === "acpipowerbutton" || rest[1] === "poweroff") this.vm!.state = "poweroff";
        else if (rest[1] === "resume") this.vm!.state = "running";
        return this.ok();
      case "unregistervm":
        this.vm = undefined;
        this.media = this.media.filter((m) => m.kind !== "hdds" || !m.location.startsWith(MACHINE_DIR));
        return this.ok();
      case "guestproperty":
        return this.ok("No value set!\n");
      case "clonemedium":
        this.media.push({ kind: "hdds", location: rest[2]! });
        return this.ok();
      case "storageattach":
        if (rest.includes("dvddrive")) this.media.push({ kind: "dvds", location: rest[rest.indexOf("--medium") + 1]! });
        return this.ok();
      case "closemedium":
        this.media = this.media.filter((m) => m.location !== rest[1]);
        return this.ok();
      case "convertfromraw":
      case "modifymedium":
      case "storagectl":
      case "sharedfolder":
      case "setextradata":
      case "discardstate":
        return this.ok();
    }
    throw new Error(`unexpected VBoxManage call: ${a.join(" ")}`);
  };

  /** The recorded calls, one per line, as in the golden files. */
  transcript(): string {
    return this.calls.map((c) => ["VBoxManage", ...c].map((x) => (/[\s"']/.test(x) || x === "" ? JSON.stringify(x) : x)).join(" ")).join("\n").replace(/\.convert-[0-9a-f]{8}\.vdi/g, ".convert-RANDOM.vdi") + "\n";
  }
}

export const HOSTONLY_MAC_PLACEHOLDER = "080027";

export function fakeDeps(overrides: Partial<VBoxDeps> = {}): VBoxDeps {
  return {
    platform: "linux",
    readFile: (f) => (f === "/proc/cpuinfo" ? "processor\t: 0\nflags\t\t: fpu vme de pse vmx sse\n" : undefined),
    exists: (f) => f === BIN,
    isDirectory: (f) => f === "/home",
    networkInterfaces: () => [{ iface: "eth0", address: "10.0.2.15", netmask: "255.255.255.0", family: "IPv4" }],
    hostCpus: () => 4,
    freeLocalPorts: async () => [42222],
    isLocalPortFree: async () => true,
    waitForSshBanner: async () => undefined,
    writeFirstBoot: async (o) => ({ hostKey: "ssh-ed25519 SHA256:fakehostkey", seedPath: `${o.machineDir}/seed.iso`, userKeyPath: `${o.machineDir}/id_ed25519` }),
    ensureImage: async () => ({ path: `${STORE}/cache/images/sha512-ab12/debian-13-generic-amd64.raw`, digest: "sha512:ab12", sizeBytes: 3 * 1024 * 1024 * 1024 }),
    withLock: async (_d, _n, _s, fn) => fn(),
    rename: async () => undefined,
    sleep: async () => undefined,
    ...overrides,
  };
}

/** A DriverHost over the fake; withRemote answers `ip` with NIC2's address. */
export function fakeHost(fake: FakeVBox, opts: { ip?: string; remoteCalls?: string[]; env?: Record<string, string> } = {}): DriverHost {
  return {
    machineName: "vb1",
    machineDir: MACHINE_DIR,
    storeRoot: STORE,
    cacheDir: `${STORE}/cache`,
    leases: {
      lease: async () => {
        throw new Error("the virtualbox driver leases no addresses");
      },
      release: async () => undefined,
    },
    exec: fake.exec,
    env: { PATH: "/usr/bin:/bin", ...opts.env },
    async withRemote<T>(_ctx: OpContext, fn: (remote: Remote) => Promise<T>): Promise<T> {
      const remote: Remote = {
        isRoot: false,
        run: async (command: string) => {
          opts.remoteCalls?.push(command);
          if (command.startsWith("ip -o link")) {
            const { machineMac, colonMac } = await import("../../../drivers/virtualbox/mac.js");
            const mac = colonMac(machineMac(STORE, "vb1", 2));
            return {
              stdout: `1: lo: <LOOPBACK,UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n2: enp0s3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP mode DEFAULT group default qlen 1000\\    link/ether 08:00:27:00:00:01 brd ff:ff:ff:ff:ff:ff\n3: enp0s8: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP mode DEFAULT group default qlen 1000\\    link/ether ${mac} brd ff:ff:ff:ff:ff:ff\n@@1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n2: enp0s3    inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic enp0s3\\       valid_lft 86315sec preferred_lft 86315sec\n3: enp0s8    inet ${opts.ip ?? "192.168.59.101"}/24 brd 192.168.59.255 scope global dynamic enp0s8\\       valid_lft 515sec preferred_lft 515sec\n`,
              stderr: "",
              exitCode: 0,
            };
          }
          return { stdout: "", stderr: "", exitCode: 0 };
        },
      };
      return fn(remote);
    },
  };
}

export function ctx(lines: string[] = []): OpContext {
  return { signal: new AbortController().signal, log: (l) => lines.push(l), debug: () => undefined };
}
