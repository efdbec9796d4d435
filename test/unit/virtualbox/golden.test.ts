/**
 * Golden files of the exact VBoxManage argument lists the virtualbox driver issues for
 * create (pre-create check included), start, stop, kill, restart and rm. Regenerate after a
 * deliberate change with UPDATE_GOLDEN=1 and review the diff.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { VirtualBoxDriver } from "../../../drivers/virtualbox/driver.js";
import { settingsFromFlags } from "../../../drivers/virtualbox/settings.js";
import { machineMac } from "../../../drivers/virtualbox/mac.js";
import { sleep } from "../../../src/model/abort.js";
import { ExitCode } from "../../../src/model/errors.js";
import { ctx, FakeVBox, fakeDeps, fakeHost, STORE } from "./fake-vbox.js";

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "golden");

function golden(name: string, actual: string): void {
  const file = path.join(DIR, `${name}.txt`);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, "utf8"));
}

function driverFor(fake: FakeVBox, extra: Record<string, unknown> = {}, configOverrides: Record<string, unknown> = {}) {
  const { config } = settingsFromFlags({ "virtualbox-image-url": "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-generic-amd64.raw", ...extra });
  return new VirtualBoxDriver({ ...config, ...configOverrides } as typeof config, fakeHost(fake), fakeDeps());
}

/** A VM as create leaves it, running. */
function createdConfig() {
  return { sshPort: 42222, ipAddress: "192.168.59.101", hostOnlyInterface: "vboxnet0", natMac: machineMac(STORE, "vb1", 1), hostOnlyMac: machineMac(STORE, "vb1", 2), hostKey: "ssh-ed25519 SHA256:fakehostkey" };
}

function withNetwork(fake: FakeVBox, vmState: string): void {
  fake.hostonlyifs = [{ name: "vboxnet0", ip: "192.168.59.1", mask: "255.255.255.0" }];
  fake.dhcp = [{ net: "HostInterfaceNetworking-vboxnet0", ip: "192.168.59.100", mask: "255.255.255.0", lower: "192.168.59.101", upper: "192.168.59.254", enabled: true }];
  fake.vm = { state: vmState, natpf: ["ssh,tcp,127.0.0.1,42222,,22"] };
  fake.media = [
    { kind: "hdds", location: "/store/machines/vb1/disk.vdi" },
    { kind: "dvds", location: "/store/machines/vb1/seed.iso" },
  ];
}

describe("virtualbox driver: exact VBoxManage calls", () => {
  it("create: pre-create check, disk, VM, network, boot", async () => {
    const fake = new FakeVBox();
    const d = driverFor(fake);
    await d.preCreateCheck(ctx());
    await d.create(ctx());
    golden("create", fake.transcript());
    const cfg = d.config();
    expect(cfg.ipAddress).toBe("192.168.59.101");
    expect(cfg.sshPort).toBe(42222);
    expect(cfg.hostOnlyInterface).toBe("vboxnet0");
    expect(d.expectedHostKey()).toBe("ssh-ed25519 SHA256:fakehostkey");
    expect(await d.getUrl()).toBe("tcp://192.168.59.101:2376");
    expect(await d.getSshEndpoint()).toEqual({ host: "127.0.0.1", port: 42222, user: "docker", privateKeyPath: "/store/machines/vb1/id_ed25519" });
  });

  it("start: a powered-off VM reuses its adapter, DHCP server and SSH forward", async () => {
    const fake = new FakeVBox();
    withNetwork(fake, "poweroff");
    const d = driverFor(fake, {}, createdConfig());
    await d.start(ctx());
    golden("start", fake.transcript());
  });

  it("stop: ACPI power button, then waits for poweroff", async () => {
    const fake = new FakeVBox();
    withNetwork(fake, "running");
    await driverFor(fake, {}, createdConfig()).stop(ctx());
    golden("stop", fake.transcript());
  });

  it("stop: a guest that ignores the power button is powered off after the deadline", async () => {
    const fake = new FakeVBox();
    withNetwork(fake, "running");
    const real = fake.exec;
    fake.exec = async (file, args, o) => {
      if (args[1] === "vb1" && args[2] === "acpipowerbutton") {
        fake.calls.push([...args]);
        return { stdout: "", stderr: "", exitCode: 0 }; // ignored by the guest
      }
      return real(file, args, o);
    };
    const lines: string[] = [];
    const { config } = settingsFromFlags({});
    const d = new VirtualBoxDriver({ ...config, ...createdConfig() }, { ...fakeHost(fake, { env: { TSM_VBOX_STOP_TIMEOUT: "0.001" } }), exec: fake.exec }, fakeDeps());
    await d.stop(ctx(lines));
    expect(fake.calls.map((c) => c.slice(0, 3).join(" "))).toContain("controlvm vb1 poweroff");
    expect(lines.join("\n")).toMatch(/did not power off within .* powering it off/);
  });

  it("kill: Ctrl-C while waiting for the VM to power off ends the wait with the interrupt error (exit 130)", async () => {
    const fake = new FakeVBox();
    withNetwork(fake, "running");
    const real = fake.exec;
    fake.exec = async (file, args, o) => {
      if (args[1] === "vb1" && args[2] === "poweroff") {
        fake.calls.push([...args]);
        return { stdout: "", stderr: "", exitCode: 0 }; // the VM stays up
      }
      return real(file, args, o);
    };
    const ac = new AbortController();
    const waits: string[] = [];
    const deps = fakeDeps({
      sleep: (ms, signal, what) => {
        waits.push(what);
        ac.abort(); // Ctrl-C during the first wait
        return sleep(ms, signal, what);
      },
    });
    const { config } = settingsFromFlags({});
    const d = new VirtualBoxDriver({ ...config, ...createdConfig() }, { ...fakeHost(fake), exec: fake.exec }, deps);
    await expect(d.kill({ ...ctx(), signal: ac.signal })).rejects.toMatchObject({ code: "INTERRUPTED", exitCode: ExitCode.interrupted, message: 'Interrupted while powering off "vb1"' });
    expect(waits).toEqual(['powering off "vb1"']);
  });

  it("kill: power off", async () => {
    const fake = new FakeVBox();
    withNetwork(fake, "running");
    await driverFor(fake, {}, createdConfig()).kill(ctx());
    golden("kill", fake.transcript());
  });

  it("restart: stop, then start", async () => {
    const fake = new FakeVBox();
    withNetwork(fake, "running");
    await driverFor(fake, {}, createdConfig()).restart(ctx());
    golden("restart", fake.transcript());
  });

  it("rm: power off, unregister with its disks, close what is left of the machine's media", async () => {
    const fake = new FakeVBox();
    withNetwork(fake, "running");
    await driverFor(fake, {}, createdConfig()).remove(ctx());
    golden("rm", fake.transcript());
    expect(fake.vm).toBeUndefined();
    expect(fake.media).toEqual([]);
  });

  it("rm: a VM already gone in VirtualBox is not an error", async () => {
    const fake = new FakeVBox();
    await driverFor(fake, {}, createdConfig()).remove(ctx());
    expect(fake.transcript()).toBe("VBoxManage showvminfo vb1 --machinereadable\nVBoxManage list hdds\nVBoxManage list dvds\n");
  });

  it("create and start replace the settings whole, never change them in place", async () => {
    const fake = new FakeVBox();
    const { config } = settingsFromFlags({});
    const given = Object.freeze({ ...config });
    const d = new VirtualBoxDriver(given, fakeHost(fake), fakeDeps());
    await d.preCreateCheck(ctx());
    const before = d.config();
    await d.create(ctx());
    const after = d.config();
    expect(given).toEqual(config);
    expect(before).toEqual({ ...config });
    expect(after).toMatchObject({ sshPort: 42222, ipAddress: "192.168.59.101", hostOnlyInterface: "vboxnet0", natMac: machineMac(STORE, "vb1", 1), hostKey: "ssh-ed25519 SHA256:fakehostkey" });
    await d.stop(ctx());
    await d.start(ctx());
    expect(after).toEqual(d.config());
  });

  it("inspect: Docker Machine's base Driver fields, then the virtualbox fields, in Docker Machine's order", async () => {
    const d = driverFor(new FakeVBox(), {}, createdConfig());
    expect(JSON.stringify(d.inspectView(), null, 1)).toBe(
      JSON.stringify(
        {
          IPAddress: "192.168.59.101",
          MachineName: "vb1",
          SSHUser: "docker",
          SSHPort: 42222,
          SSHKeyPath: "/store/machines/vb1/id_ed25519",
          StorePath: "/store",
          SwarmMaster: false,
          SwarmHost: "",
          SwarmDiscovery: "",
          VBoxManager: {},
          HostInterfaces: {},
          CPU: 1,
          Memory: 1024,
          DiskSize: 20000,
          NatNicType: "82540EM",
          ImageURL: "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-generic-amd64.raw",
          HostOnlyCIDR: "192.168.59.1/24",
          HostOnlyNicType: "82540EM",
          HostOnlyPromiscMode: "deny",
          HostOnlyNoDHCP: false,
          HostOnlyInterface: "vboxnet0",
          UIType: "headless",
          NoShare: false,
          ShareFolder: "",
          DNSProxy: true,
          NoVTXCheck: false,
          HostDNSResolver: false,
        },
        null,
        1,
      ),
    );
  });

  it("flags reach the VM: memory, CPUs, NIC types, promiscuous mode, DNS, UI type, no share", async () => {
    const fake = new FakeVBox();
    const d = driverFor(fake, {
      "virtualbox-memory": 4096,
      "virtualbox-cpu-count": 0,
      "virtualbox-nat-nictype": "virtio",
      "virtualbox-hostonly-nictype": "Am79C973",
      "virtualbox-hostonly-nicpromisc": "allow-all",
      "virtualbox-host-dns-resolver": true,
      "virtualbox-no-dns-proxy": true,
      "virtualbox-ui-type": "gui",
      "virtualbox-no-share": true,
      "virtualbox-disk-size": 2048,
    });
    const lines: string[] = [];
    await d.preCreateCheck(ctx());
    await d.create(ctx(lines));
    const t = fake.transcript();
    expect(t).toContain("--cpus 4 --memory 4096");
    expect(t).toContain("--nic1 nat --nictype1 virtio");
    expect(t).toContain("--natdnshostresolver1 on --natdnsproxy1 off");
    expect(t).toContain("--nictype2 Am79C973 --nicpromisc2 allow-all");
    expect(t).toContain("startvm vb1 --type gui");
    expect(t).not.toContain("sharedfolder");
    expect(t).not.toContain("modifymedium");
    expect(lines.join("\n")).toContain("keeping 3072 MB");
  });
});
