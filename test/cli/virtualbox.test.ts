/**
 * The virtualbox driver through the built tsm, against the VBoxManage stand-in (test/vbox,
 * first on PATH, without a guest backend: VMs change state but SSH never answers), and the
 * stand-in's own strictness (it is test infrastructure, so it is tested too).
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, runTsm, tempDir, type RunResult } from "../helpers/cli.js";

const STANDIN_BIN = path.join(ROOT, "test", "vbox", "bin");

function vbox(home: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(path.join(STANDIN_BIN, "VBoxManage"), args, { env: { ...process.env, VBOX_STANDIN_HOME: home, ...env } }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, exitCode: err ? Number((err as { code?: number }).code ?? 1) : 0 });
    });
  });
}

describe("VBoxManage stand-in", () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let home = "";
  beforeAll(async () => {
    tmp = await tempDir("tsm-vbox-standin-");
    home = path.join(tmp.dir, "vbox");
  });
  afterAll(() => tmp.cleanup());

  it("rejects unknown commands (exit 2) and unknown modifyvm options (exit 1)", async () => {
    const r = await vbox(home, ["frobnicate"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("VBoxManage: error: Invalid command 'frobnicate'");
    await vbox(home, ["createvm", "--name", "s1", "--basefolder", tmp.dir, "--register"]);
    const m = await vbox(home, ["modifyvm", "s1", "--frob", "on"]);
    expect(m.exitCode).toBe(1);
    expect(m.stderr).toBe("VBoxManage: error: Unknown option: --frob\n");
    const l = await vbox(home, ["list", "--frob", "vms"]);
    expect(l.exitCode).toBe(2);
  });

  it("keeps state across calls and prints VirtualBox's formats", async () => {
    const created = await vbox(home, ["createvm", "--name", "s2", "--basefolder", tmp.dir, "--ostype", "Debian_64", "--register"]);
    expect(created.stdout).toMatch(/^Virtual machine 's2' is created and registered\.\nUUID: [0-9a-f-]{36}\nSettings file: '.*\/s2\/s2\.vbox'\n$/);
    expect((await vbox(home, ["modifyvm", "s2", "--memory", "2048", "--natpf1", "ssh,tcp,127.0.0.1,2222,,22"])).exitCode).toBe(0);
    const info = await vbox(home, ["showvminfo", "s2", "--machinereadable"]);
    expect(info.stdout).toContain('VMState="poweroff"\n');
    expect(info.stdout).toContain("memory=2048\n");
    expect(info.stdout).toContain('Forwarding(0)="ssh,tcp,127.0.0.1,2222,,22"\n');
    expect((await vbox(home, ["list", "vms"])).stdout).toMatch(/"s2" \{[0-9a-f-]{36}\}\n/);
    const dup = await vbox(home, ["modifyvm", "s2", "--natpf1", "ssh,tcp,127.0.0.1,2223,,22"]);
    expect(dup.stderr).toContain("A NAT rule of this name already exists");
    const gp = await vbox(home, ["guestproperty", "get", "s2", "/VirtualBox/GuestInfo/Net/1/V4/IP"]);
    expect(gp.stdout).toBe("No value set!\n");
  });

  it("refuses calls that are invalid in the VM's state, with VirtualBox's messages", async () => {
    await vbox(home, ["createvm", "--name", "s3", "--basefolder", tmp.dir, "--register"]);
    const off = await vbox(home, ["controlvm", "s3", "acpipowerbutton"]);
    expect(off.exitCode).toBe(1);
    expect(off.stderr).toContain("Machine 's3' is not currently running");
    expect((await vbox(home, ["startvm", "s3", "--type", "headless"])).stdout).toBe('Waiting for VM "s3" to power on...\nVM "s3" has been successfully started.\n');
    const again = await vbox(home, ["startvm", "s3", "--type", "headless"]);
    expect(again.stderr).toContain("The machine 's3' is already locked by a session (or being locked or unlocked)");
    const mod = await vbox(home, ["modifyvm", "s3", "--memory", "512"]);
    expect(mod.stderr).toContain("The machine 's3' is already locked for a session (or being unlocked)");
    expect(mod.stderr).toContain("VBOX_E_INVALID_OBJECT_STATE");
    const unreg = await vbox(home, ["unregistervm", "s3", "--delete"]);
    expect(unreg.stderr).toContain("Cannot unregister the machine 's3' while it is locked");
    expect((await vbox(home, ["controlvm", "s3", "poweroff"])).exitCode).toBe(0);
    expect((await vbox(home, ["unregistervm", "s3", "--delete"])).exitCode).toBe(0);
    const gone = await vbox(home, ["showvminfo", "s3", "--machinereadable"]);
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toContain("Could not find a registered machine named 's3'");
    expect(gone.stderr).toContain("VBOX_E_OBJECT_NOT_FOUND");
  });

  it("enforces the host-only range of VirtualBox 6.1.28+ (not before, not on Windows)", async () => {
    const h = path.join(tmp.dir, "vbox-range");
    expect((await vbox(h, ["hostonlyif", "create"])).stdout).toBe("Interface 'vboxnet0' was successfully created\n");
    const denied = await vbox(h, ["hostonlyif", "ipconfig", "vboxnet0", "--ip=192.168.99.1", "--netmask=255.255.255.0"]);
    expect(denied.exitCode).toBe(1);
    expect(denied.stderr).toContain("Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)");
    expect((await vbox(h, ["hostonlyif", "ipconfig", "vboxnet0", "--ip=192.168.99.1", "--netmask=255.255.255.0"], { VBOX_STANDIN_VERSION: "6.1.26r145957" })).exitCode).toBe(0);
    expect((await vbox(h, ["hostonlyif", "ipconfig", "vboxnet0", "--ip", "10.9.0.1", "--netmask", "255.255.255.0"], { VBOX_STANDIN_HOST_OS: "windows" })).exitCode).toBe(0);
    writeFileSync(path.join(h, "networks.conf"), "* 10.0.0.0/8\n");
    expect((await vbox(h, ["hostonlyif", "ipconfig", "vboxnet0", "--ip=10.9.0.1", "--netmask=255.255.255.0"])).exitCode).toBe(0);
    const list = await vbox(h, ["list", "hostonlyifs"]);
    expect(list.stdout).toContain("IPAddress:       10.9.0.1\nNetworkMask:     255.255.255.0\n");
  });

  it("injects transient session-lock errors for the first N calls", async () => {
    const h = path.join(tmp.dir, "vbox-locked");
    await vbox(h, ["createvm", "--name", "s4", "--basefolder", tmp.dir, "--register"]);
    const env = { VBOX_STANDIN_LOCKED: "2" };
    expect((await vbox(h, ["modifyvm", "s4", "--cpus", "2"], env)).stderr).toContain("already locked for a session");
    expect((await vbox(h, ["modifyvm", "s4", "--cpus", "2"], env)).exitCode).toBe(1);
    expect((await vbox(h, ["modifyvm", "s4", "--cpus", "2"], env)).exitCode).toBe(0);
  });

  it("VBOX_STANDIN_DHCP_LOST_LEASE: NIC2's next lease is a new address; refused for a VM with no lease", async () => {
    const h = path.join(tmp.dir, "vbox-lease");
    const ok = async (args: string[], env: Record<string, string> = {}) => {
      const r = await vbox(h, args, env);
      expect(r.exitCode, `${args.join(" ")}: ${r.stderr}`).toBe(0);
    };
    await ok(["hostonlyif", "create"]);
    await ok(["hostonlyif", "ipconfig", "vboxnet0", "--ip=192.168.59.1", "--netmask=255.255.255.0"]);
    await ok(["dhcpserver", "add", "--interface=vboxnet0", "--server-ip=192.168.59.100", "--netmask=255.255.255.0", "--lower-ip=192.168.59.101", "--upper-ip=192.168.59.254", "--enable"]);
    await ok(["createvm", "--name", "s5", "--basefolder", tmp.dir, "--register"]);
    await ok(["modifyvm", "s5", "--nic2", "hostonly", "--hostonlyadapter2", "vboxnet0", "--macaddress2", "080027AABBCC"]);
    const lost = { VBOX_STANDIN_DHCP_LOST_LEASE: "s5" };
    const never = await vbox(h, ["startvm", "s5", "--type", "headless"], lost);
    expect(never.exitCode).toBe(1);
    expect(never.stderr).toContain("VBOX_STANDIN_DHCP_LOST_LEASE names 's5', which has no host-only DHCP lease to lose");
    const leases = () => (JSON.parse(readFileSync(path.join(h, "state.json"), "utf8")) as { dhcpservers: { leases: Record<string, string> }[] }).dhcpservers[0]?.leases ?? {};
    await ok(["startvm", "s5", "--type", "headless"]);
    expect(leases()["080027aabbcc"]).toBe("192.168.59.101");
    await ok(["controlvm", "s5", "poweroff"]);
    await ok(["startvm", "s5", "--type", "headless"]);
    expect(leases()["080027aabbcc"]).toBe("192.168.59.101");
    await ok(["controlvm", "s5", "poweroff"]);
    await ok(["startvm", "s5", "--type", "headless"], { VBOX_STANDIN_DHCP_LOST_LEASE: "other,s5" });
    expect(leases()).toEqual({ "020000a83b65": "192.168.59.101", "080027aabbcc": "192.168.59.102" });
    await ok(["controlvm", "s5", "poweroff"]);
    await ok(["startvm", "s5", "--type", "headless"]);
    expect(leases()["080027aabbcc"]).toBe("192.168.59.102");
  });
});

describe("tsm create -d virtualbox against the stand-in", () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let image = "";
  beforeAll(async () => {
    tmp = await tempDir("tsm-vbox-cli-");
    image = path.join(tmp.dir, "debian-13-generic-amd64.raw");
    writeFileSync(image, Buffer.alloc(8 * 1024 * 1024));
  });
  afterAll(() => tmp.cleanup());

  let n = 0;
  function world(extraEnv: Record<string, string> = {}) {
    n++;
    const store = path.join(tmp.dir, `store${n}`);
    const home = path.join(tmp.dir, `vbox${n}`);
    const env = {
      PATH: `${STANDIN_BIN}${path.delimiter}${process.env.PATH}`,
      VBOX_STANDIN_HOME: home,
      VIRTUALBOX_NO_VTX_CHECK: "1",
      VIRTUALBOX_IMAGE_URL: image,
      VIRTUALBOX_NO_SHARE: "1",
      TSM_SSH_TIMEOUT: "3",
      ...extraEnv,
    };
    return {
      store,
      home,
      tsm: (args: string[], more: Record<string, string> = {}) => runTsm(store, args, { env: { ...env, ...more } }),
      vbm: (args: string[]) => vbox(home, args),
    };
  }

  it("VBoxManage missing: pre-create check fails (exit 3), nothing is left", async () => {
    const w = world({ PATH: "/nonexistent" });
    const r = await w.tsm(["create", "-d", "virtualbox", "vb"], { PATH: "/nonexistent" });
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain("VBoxManage not found. Make sure VirtualBox is installed and VBoxManage is in the path");
    expect(existsSync(path.join(w.store, "machines", "vb"))).toBe(false);
  });

  it("VirtualBox older than 6.1: exit 3", async () => {
    const w = world({ VBOX_STANDIN_VERSION: "5.2.44r139111" });
    const r = await w.tsm(["create", "-d", "virtualbox", "vb"]);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain('tsm supports VirtualBox 6.1 and 7.x; this VBoxManage');
    expect(r.stderr).toContain('"5.2.44r139111"');
  });

  it("a host-only CIDR outside 192.168.56.0/21: exit 3 naming the range and /etc/vbox/networks.conf, nothing created", async () => {
    const w = world();
    const r = await w.tsm(["create", "-d", "virtualbox", "--virtualbox-hostonly-cidr", "192.168.99.1/24", "vb"]);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain("The host-only network 192.168.99.0/24 is outside the ranges VirtualBox 7.0.20r163906 allows for host-only adapters (192.168.56.0/21)");
    expect(r.stderr).toContain("/etc/vbox/networks.conf");
    expect(existsSync(path.join(w.store, "machines", "vb"))).toBe(false);
    expect((await w.vbm(["list", "vms"])).stdout).toBe("");
    expect((await w.vbm(["list", "hostonlyifs"])).stdout).toBe("");
  });

  it("a bad flag value: exit 2 naming the flag", async () => {
    const w = world();
    const r = await w.tsm(["create", "-d", "virtualbox", "--virtualbox-hostonly-cidr", "192.168.59.0/24", "vb"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("Invalid --virtualbox-hostonly-cidr");
  });

  it("VT-x unavailable at startvm: one clear line, the record is kept and removable", async () => {
    const w = world({ VBOX_STANDIN_NO_VTX: "1" });
    const r = await w.tsm(["create", "-d", "virtualbox", "vb"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('VirtualBox cannot start "vb": VT-x is not available. Enable VT-x/AMD-V in the computer\'s BIOS/UEFI settings');
    expect(r.stderr).toContain('tsm rm -f vb');
    expect((await w.tsm(["status", "vb"])).stdout).toBe("Stopped\n");
    const rm = await w.tsm(["rm", "-f", "vb"]);
    expect(rm.exitCode, rm.stderr).toBe(0);
    expect((await w.vbm(["list", "vms"])).stdout).toBe("");
    expect((await w.vbm(["list", "hdds"])).stdout).toBe("");
    expect((await w.vbm(["list", "dvds"])).stdout).toBe("");
    expect(existsSync(path.join(w.store, "machines", "vb"))).toBe(false);
  });

  it("a VM that never gets an address: clear error, record kept, lifecycle works, rm -f cleans everything", async () => {
    const w = world({ VBOX_STANDIN_LOCKED: "3" });
    const r = await w.tsm(["create", "-d", "virtualbox", "vb"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/"vb" \(127\.0\.0\.1:\d+\) did not answer on SSH within 3 s/);
    expect(r.stderr).toContain('remove it with "tsm rm -f vb"');
    // the transient "already locked" errors were retried
    const calls = readFileSync(path.join(w.home, "calls.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as string[]);
    expect(calls.filter((c) => c[0] === "modifyvm" && c[2] === "--firmware").length).toBe(4);
    // NIC2 host-only with the derived MAC, NAT forward on 127.0.0.1, the DHCP server for the adapter
    const info = (await w.vbm(["showvminfo", "vb", "--machinereadable"])).stdout;
    expect(info).toContain('VMState="running"');
    expect(info).toContain('hostonlyadapter2="vboxnet0"');
    expect(info).toMatch(/Forwarding\(0\)="ssh,tcp,127\.0\.0\.1,\d+,,22"/);
    expect((await w.vbm(["list", "hostonlyifs"])).stdout).toContain("IPAddress:       192.168.59.1\n");
    expect((await w.vbm(["list", "dhcpservers"])).stdout).toContain("Dhcpd IP:       192.168.59.100\n");
    expect((await w.tsm(["status", "vb"])).stdout).toBe("Running\n");
    const stop = await w.tsm(["stop", "vb"]);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect((await w.tsm(["status", "vb"])).stdout).toBe("Stopped\n");
    expect((await w.tsm(["stop", "vb"])).stderr).toContain('Machine "vb" is already stopped.');
    // a second create reuses the adapter: no duplicate
    const w2 = await w.tsm(["create", "-d", "virtualbox", "vb2"]);
    expect(w2.exitCode).toBe(1);
    expect((await w.vbm(["list", "hostonlyifs"])).stdout.match(/^Name:/gm)).toHaveLength(1);
    expect((await w.tsm(["kill", "vb2"])).exitCode).toBe(0);
    for (const name of ["vb", "vb2"]) {
      const rm = await w.tsm(["rm", "-f", name]);
      expect(rm.exitCode, rm.stderr).toBe(0);
    }
    expect((await w.vbm(["list", "vms"])).stdout).toBe("");
    expect((await w.vbm(["list", "hdds"])).stdout).toBe("");
    expect((await w.vbm(["list", "dvds"])).stdout).toBe("");
    expect(readdirSync(path.join(w.store, "machines"))).toEqual([]);
    // the host-only adapter stays for other machines
    expect((await w.vbm(["list", "hostonlyifs"])).stdout).toContain("vboxnet0");
  }, 120_000);

  it("a VM removed behind tsm's back: status says the host does not exist, rm -f cleans the record", async () => {
    const w = world();
    await w.tsm(["create", "-d", "virtualbox", "vb"]);
    expect((await w.vbm(["controlvm", "vb", "poweroff"])).exitCode).toBe(0);
    expect((await w.vbm(["unregistervm", "vb", "--delete"])).exitCode).toBe(0);
    const st = await w.tsm(["status", "vb"]);
    expect(st.exitCode).toBe(1);
    expect(st.stderr).toContain('Host does not exist: VirtualBox has no VM named "vb"');
    expect(st.stderr).toContain('tsm rm -f vb');
    const ls = await w.tsm(["ls"]);
    expect(ls.stdout).toMatch(/vb\s+-\s+virtualbox\s+Error.*Host does not exist/);
    const start = await w.tsm(["start", "vb"]);
    expect(start.exitCode).toBe(1);
    expect(start.stderr).toContain("Host does not exist");
    const rm = await w.tsm(["rm", "-f", "vb"]);
    expect(rm.exitCode, rm.stderr).toBe(0);
    expect((await w.vbm(["list", "dvds"])).stdout).toBe("");
    expect(existsSync(path.join(w.store, "machines", "vb"))).toBe(false);
  }, 60_000);

  it("`create --help` lists the driver's flags with their VIRTUALBOX_* variables", async () => {
    const w = world();
    const r = await w.tsm(["create", "-d", "virtualbox", "--help"]);
    for (const f of ["--virtualbox-memory", "VIRTUALBOX_MEMORY_SIZE", "--virtualbox-hostonly-cidr", "192.168.59.1/24", "--virtualbox-image-url", "--virtualbox-no-vtx-check", "VIRTUALBOX_HOSTONLY_NIC_PROMISC"]) {
      expect(r.stdout + r.stderr).toContain(f);
    }
  });
});
