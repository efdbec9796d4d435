/**
 * The VirtualBox driver's implementation (loaded by the descriptor's `open`).
 *
 * A machine is a VirtualBox VM named like the machine, registered with its settings in
 * `<machineDir>/<name>/`, with:
 * - a SATA (AHCI) controller: port 0 the machine's disk (`<machineDir>/disk.vdi`, cloned from
 *   the cached Debian image converted once to VDI, then grown to --virtualbox-disk-size), port 1
 *   the cloud-init seed (`<machineDir>/seed.iso`) as a DVD;
 * - NIC1 NAT with the port forward `ssh,tcp,127.0.0.1,<free port>,,22` (tsm's SSH path);
 * - NIC2 host-only on the adapter whose address is --virtualbox-hostonly-cidr (found or
 *   created, with a DHCP server), with a MAC derived from the machine name, so the DHCP lease,
 *   hence the engine's address tcp://<host-only address>:2376, survives restarts;
 * - serial port 1 logged to `<machineDir>/console.log` (the guest's boot messages);
 * - optionally a shared folder (the home directories by default, as in Docker Machine).
 *
 * The guest's address is read over SSH (cloud images have no Guest Additions, so the
 * `/VirtualBox/GuestInfo/Net/1/V4/IP` guest property is only a first try). Every VBoxManage
 * call goes through the exec seam (vboxmanage.ts).
 *
 * Beside this file: the host-only adapter and its DHCP server (hostonly.ts, arithmetic in
 * network.ts), the base VDI cache (disk.ts), what is taken from the surroundings (deps.ts),
 * VBoxManage's output formats (parse.ts). The settings (settings.ts) are never changed in
 * place: every update replaces them whole.
 */
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { Driver, DriverHost, MachineState, OpContext, SshEndpoint } from "../../src/model/driver.js";
import { MachineStateError, PreCreateCheckError, TsmError, isTsmError } from "../../src/model/errors.js";
import { throwIfAborted } from "../../src/model/abort.js";
import { baseDriverView } from "../../src/model/inspect-base.js";
import { envSecondsMs, sshDeadlineMs, type Env } from "../../src/model/timeouts.js";
import { shQuote } from "../../src/ssh/client.js";
import { realDeps, type VBoxDeps } from "./deps.js";
import { cloneBaseVdi, ensureBaseVdi, type BaseVdi } from "./disk.js";
import { checkHostOnlyAdapters, checkHostOnlyRange, ensureHostOnlyNetwork } from "./hostonly.js";
import { colonMac, machineMac } from "./mac.js";
import { networkOf, parseCidr, type Cidr } from "./network.js";
import { ipv4ForMac, machineStateOf, natRules, parseGuestProperty, parseMachineReadable, parseMedia, parseVersion, parseVmList, versionAtLeast } from "./parse.js";
import type { VirtualBoxConfig } from "./settings.js";
import { findVBoxManage, isNotFound, VBOXMANAGE_NOT_FOUND, VBoxManageError, vboxManage, vtxProblem, type VBoxManage } from "./vboxmanage.js";

export const SSH_USER = "docker";
export const DISK_FILE = "disk.vdi";
export const CONSOLE_LOG = "console.log";
export const CONTROLLER = "SATA";
export const SSH_RULE = "ssh";

/** TSM_SSH_TIMEOUT (seconds, default 60) bounds the wait for SSH and for the address. */
const sshTimeoutMs = sshDeadlineMs;

/** TSM_VBOX_STOP_TIMEOUT (seconds, default 90): how long `stop` waits after the ACPI power button before powering off. */
function stopTimeoutMs(env: Env): number {
  return envSecondsMs(env, "TSM_VBOX_STOP_TIMEOUT", 90);
}

export class VirtualBoxDriver implements Driver {
  readonly name = "virtualbox";
  readonly features = { powerControl: true, provisionable: true, firstBoot: true } as const;
  #vbm: VBoxManage | undefined;
  /** The base VDI found by preCreateCheck, for create. */
  #base: BaseVdi | undefined;

  constructor(
    private settings: VirtualBoxConfig,
    private readonly host: DriverHost,
    private readonly deps: VBoxDeps = realDeps,
  ) {}

  // ------------------------------------------------------------------ plumbing

  private get vmName(): string {
    return this.host.machineName;
  }

  private vbm(ctx: OpContext): VBoxManage {
    if (!this.#vbm) {
      const bin = findVBoxManage(this.host.env, this.deps.platform, (p) => this.deps.exists(p));
      if (!bin) throw new TsmError("VBOXMANAGE_NOT_FOUND", VBOXMANAGE_NOT_FOUND);
      this.#vbm = vboxManage({ exec: this.host.exec, bin, debug: (l) => ctx.debug(l), signal: ctx.signal, sleep: (ms, what) => this.deps.sleep(ms, ctx.signal, what) });
    }
    return this.#vbm;
  }

  /** showvminfo, or undefined when VirtualBox has no such VM. */
  private async vmInfo(ctx: OpContext): Promise<Map<string, string> | undefined> {
    const r = await this.vbm(ctx).tryRun(["showvminfo", this.vmName, "--machinereadable"]);
    if (r.ok) return parseMachineReadable(r.stdout);
    if (isNotFound(r.stderr)) return undefined;
    throw new VBoxManageError(["showvminfo", this.vmName, "--machinereadable"], r.stderr, r.exitCode);
  }

  private async requireInfo(ctx: OpContext): Promise<Map<string, string>> {
    const info = await this.vmInfo(ctx);
    if (!info) {
      throw new TsmError(
        "VM_NOT_FOUND",
        `Host does not exist: VirtualBox has no VM named "${this.vmName}" (was it removed outside tsm?). Remove the record with "tsm rm -f ${this.vmName}"`,
      );
    }
    return info;
  }

  private async vmState(ctx: OpContext): Promise<string> {
    return (await this.requireInfo(ctx)).get("VMState") ?? "";
  }

  private cidr(): Cidr {
    const c = parseCidr(this.settings.hostOnlyCidr);
    if (!c) throw new TsmError("VBOX_CIDR", `Invalid host-only CIDR ${JSON.stringify(this.settings.hostOnlyCidr)}`);
    return c;
  }

  private diskPath(): string {
    return path.join(this.host.machineDir, DISK_FILE);
  }

  /** tsm's login key, written with the first-boot seed. */
  private keyPath(): string {
    return path.join(this.host.machineDir, "id_ed25519");
  }

  private vmLogPath(): string {
    return path.join(this.host.machineDir, this.vmName, "Logs", "VBox.log");
  }

  /** The shared folders to set up: [hostDir, shareName]. */
  private shares(): Array<[string, string]> {
    if (this.settings.noShare) return [];
    if (this.settings.shareFolder !== "") {
      const i = this.settings.shareFolder.lastIndexOf(":");
      return [[this.settings.shareFolder.slice(0, i), this.settings.shareFolder.slice(i + 1)]];
    }
    const p = this.deps.platform;
    const def: [string, string] | undefined =
      p === "linux" ? ["/home", "hosthome"] : p === "darwin" ? ["/Users", "Users"] : p === "win32" ? ["C:\\Users", "c/Users"] : undefined;
    return def && this.deps.isDirectory(def[0]) ? [def] : [];
  }

  /** The cloud image as a base VDI in `<store>/cache/virtualbox/` (disk.ts). */
  private baseDisk(ctx: OpContext, vbm: VBoxManage): Promise<BaseVdi> {
    return ensureBaseVdi({ deps: this.deps, vbm, cacheDir: this.host.cacheDir, source: this.settings.imageUrl, ctx });
  }

  private cpus(): number {
    const n = this.settings.cpuCount < 1 ? this.deps.hostCpus() : this.settings.cpuCount;
    return Math.max(1, Math.min(32, n));
  }

  // ------------------------------------------------------------------ pre-create

  async preCreateCheck(ctx: OpContext): Promise<void> {
    let vbm: VBoxManage;
    try {
      vbm = this.vbm(ctx);
    } catch (err) {
      throw new PreCreateCheckError(VBOXMANAGE_NOT_FOUND, { cause: err });
    }
    const version = parseVersion(await vbm.run(["--version"]));
    if (!version || !versionAtLeast(version, 6, 1, 0)) {
      throw new PreCreateCheckError(`tsm supports VirtualBox 6.1 and 7.x; this VBoxManage (${vbm.bin}) reports version ${JSON.stringify(version?.raw ?? "unknown")}`);
    }
    if (version.major > 7) ctx.log(`VirtualBox ${version.raw} is newer than the 7.x tsm was tested with; continuing.`);

    if (!this.settings.noVtxCheck && this.deps.platform === "linux") {
      const cpuinfo = this.deps.readFile("/proc/cpuinfo");
      if (cpuinfo !== undefined && !hasHardwareVirtualization(cpuinfo)) {
        throw new PreCreateCheckError(
          "This computer doesn't have VT-X/AMD-v enabled. Enabling it in the BIOS is mandatory (inside a VM: enable nested virtualization). To try anyway, use --virtualbox-no-vtx-check",
        );
      }
    }

    const cidr = this.cidr();
    checkHostOnlyRange(cidr, { platform: this.deps.platform, version, readFile: (f) => this.deps.readFile(f) });

    const vms = parseVmList(await vbm.run(["list", "vms"]));
    if (vms.some((v) => v.name === this.vmName)) {
      throw new PreCreateCheckError(`VirtualBox already has a VM named "${this.vmName}": choose another machine name, or remove that VM in VirtualBox`);
    }

    await checkHostOnlyAdapters(vbm, cidr, () => this.deps.networkInterfaces());

    if (this.settings.shareFolder !== "" && !this.settings.noShare) {
      const [dir] = this.shares()[0]!;
      if (!this.deps.isDirectory(dir)) throw new PreCreateCheckError(`The shared folder ${JSON.stringify(dir)} (--virtualbox-share-folder) is not a directory`);
    }

    // Downloading and converting here, before anything of the machine exists, means a
    // failure leaves nothing behind (Docker Machine fetched its ISO at this point too).
    this.#base = await this.baseDisk(ctx, vbm);
  }

  // ------------------------------------------------------------------ create

  async create(ctx: OpContext): Promise<void> {
    const vbm = this.vbm(ctx);
    const name = this.vmName;
    const base = this.#base ?? (await this.baseDisk(ctx, vbm));
    const natMac = machineMac(this.host.storeRoot, name, 1);
    const hostOnlyMac = machineMac(this.host.storeRoot, name, 2);
    this.settings = { ...this.settings, natMac, hostOnlyMac };

    ctx.log("Writing the first-boot seed (login key, host key, cloud-init)...");
    const boot = await this.deps.writeFirstBoot({
      machineDir: this.host.machineDir,
      hostname: name,
      instanceId: `tsm-${name}-${randomBytes(4).toString("hex")}`,
      networkConfig: {
        version: 2,
        ethernets: {
          nat: { match: { macaddress: colonMac(natMac) }, dhcp4: true },
          hostonly: { match: { macaddress: colonMac(hostOnlyMac) }, dhcp4: true, "dhcp4-overrides": { "use-routes": false, "use-dns": false } },
        },
      },
    });
    this.settings = { ...this.settings, hostKey: boot.hostKey };

    ctx.log("Creating the VM's disk...");
    const disk = this.diskPath();
    await cloneBaseVdi({ deps: this.deps, vbm, base, disk, signal: ctx.signal });
    const imageMb = Math.ceil(base.sizeBytes / (1024 * 1024));
    if (this.settings.diskSizeMb > imageMb) {
      await vbm.run(["modifymedium", "disk", disk, "--resize", String(this.settings.diskSizeMb)]);
    } else if (this.settings.diskSizeMb < imageMb) {
      ctx.log(`The image is already ${imageMb} MB, more than --virtualbox-disk-size ${this.settings.diskSizeMb}: keeping ${imageMb} MB.`);
    }

    ctx.log("Creating the VirtualBox VM...");
    await vbm.run(["createvm", "--name", name, "--basefolder", this.host.machineDir, "--ostype", "Debian_64", "--register"]);
    await vbm.run([
      "modifyvm", name,
      "--firmware", "bios",
      "--cpus", String(this.cpus()),
      "--memory", String(this.settings.memory),
      "--acpi", "on",
      "--ioapic", "on",
      "--rtcuseutc", "on",
      "--pae", "on",
      "--hpet", "on",
      "--nestedpaging", "on",
      "--largepages", "on",
      "--vtxvpid", "on",
      "--cpuhotplug", "off",
      "--boot1", "disk",
      "--boot2", "dvd",
      "--boot3", "none",
      "--boot4", "none",
      "--uart1", "0x3F8", "4",
      "--uartmode1", "file", path.join(this.host.machineDir, CONSOLE_LOG),
    ]);
    await vbm.run([
      "modifyvm", name,
      "--nic1", "nat",
      "--nictype1", this.settings.natNicType,
      "--cableconnected1", "on",
      "--macaddress1", this.settings.natMac,
      "--natdnshostresolver1", this.settings.hostDnsResolver ? "on" : "off",
      "--natdnsproxy1", this.settings.noDnsProxy ? "off" : "on",
    ]);
    await vbm.run(["storagectl", name, "--name", CONTROLLER, "--add", "sata", "--controller", "IntelAHCI", "--portcount", "2", "--hostiocache", "on", "--bootable", "on"]);
    await vbm.run(["storageattach", name, "--storagectl", CONTROLLER, "--port", "0", "--device", "0", "--type", "hdd", "--medium", disk]);
    await vbm.run(["storageattach", name, "--storagectl", CONTROLLER, "--port", "1", "--device", "0", "--type", "dvddrive", "--medium", boot.seedPath]);
    for (const [dir, share] of this.shares()) {
      await vbm.run(["sharedfolder", "add", name, "--name", share, "--hostpath", dir, "--automount"]);
      await vbm.run(["setextradata", name, `VBoxInternal2/SharedFoldersEnableSymlinksCreate/${share}`, "1"]);
    }
    await this.boot(ctx);
  }

  /** The guest's SSH host key, known since the seed was written: pinned before first contact. */
  expectedHostKey(): string | undefined {
    return this.settings.hostKey === "" ? undefined : this.settings.hostKey;
  }

  // ------------------------------------------------------------------ start and the network

  /**
   * Brings a VM that is not running up: host-only network and the SSH forward (only when
   * powered off: a saved VM's hardware cannot change), startvm, SSH, the address.
   */
  private async boot(ctx: OpContext): Promise<void> {
    const vbm = this.vbm(ctx);
    const name = this.vmName;
    const info = await this.requireInfo(ctx);
    const vmState = info.get("VMState") ?? "";
    if (vmState === "paused") {
      await vbm.run(["controlvm", name, "resume"]);
    } else {
      if (isPoweredOff(vmState)) {
        const iface = await ensureHostOnlyNetwork(vbm, ctx, this.cidr(), { noDhcp: this.settings.hostOnlyNoDhcp, sleep: (ms, what) => this.deps.sleep(ms, ctx.signal, what) });
        await vbm.run([
          "modifyvm", name,
          "--nic2", "hostonly",
          "--nictype2", this.settings.hostOnlyNicType,
          "--nicpromisc2", this.settings.hostOnlyNicPromisc,
          "--hostonlyadapter2", iface,
          "--cableconnected2", "on",
          "--macaddress2", this.settings.hostOnlyMac,
        ]);
        this.settings = { ...this.settings, hostOnlyInterface: iface };
        const sshPort = await this.ensureSshForward(ctx, info);
        this.settings = { ...this.settings, sshPort };
      } else if (vmState !== "saved") {
        throw new MachineStateError(`Machine "${name}" is ${vmState} in VirtualBox; it can be started only when powered off, saved or paused`);
      }
      ctx.log("Starting the VM...");
      const r = await vbm.tryRun(["startvm", name, "--type", this.settings.uiType], { timeoutMs: 5 * 60_000 });
      if (!r.ok) throw this.startError(new VBoxManageError(["startvm", name, "--type", this.settings.uiType], r.stderr, r.exitCode));
    }
    const ipAddress = await this.waitForAddress(ctx);
    this.settings = { ...this.settings, ipAddress };
    await this.mountShares(ctx);
  }

  private startError(err: VBoxManageError): TsmError {
    const vtx = vtxProblem(err.text);
    if (vtx) {
      return new TsmError(
        "VTX_UNAVAILABLE",
        `VirtualBox cannot start "${this.vmName}": ${vtx}. Enable VT-x/AMD-V in the computer's BIOS/UEFI settings, turn off Hyper-V or any other hypervisor using it (on a VM host: enable nested virtualization), then run "tsm start ${this.vmName}"`,
        { cause: err, details: err.details },
      );
    }
    const log = this.deps.readFile(this.vmLogPath());
    const last = log?.trim().split("\n").pop();
    return new TsmError("VM_START_FAILED", `Unable to start the VM: ${err.message}`, { cause: err, details: [...err.details, ...(last ? [`Details: ${last}`] : [])] });
  }

  /** The NAT forward 127.0.0.1:<port> -> 22 (the stored port while it is free, else a free one); returns the port. */
  private async ensureSshForward(ctx: OpContext, info: Map<string, string>): Promise<number> {
    const vbm = this.vbm(ctx);
    let port = this.settings.sshPort;
    if (port === 0 || !(await this.deps.isLocalPortFree(port))) port = (await this.deps.freeLocalPorts(1))[0] ?? 0;
    const rule = natRules(info).find((r) => r.name === SSH_RULE);
    if (rule && rule.hostPort === port && rule.hostIp === "127.0.0.1" && rule.guestPort === 22) return port;
    if (rule) await vbm.run(["modifyvm", this.vmName, "--natpf1", "delete", SSH_RULE]);
    await vbm.run(["modifyvm", this.vmName, "--natpf1", `${SSH_RULE},tcp,127.0.0.1,${port},,22`]);
    return port;
  }

  /** Waits for SSH through the NAT forward, then reads NIC2's address and returns it. */
  private async waitForAddress(ctx: OpContext): Promise<string> {
    const name = this.vmName;
    const timeoutMs = sshTimeoutMs(this.host.env);
    const started = Date.now();
    ctx.log("Waiting for SSH...");
    await this.deps.waitForSshBanner({
      host: "127.0.0.1",
      port: this.settings.sshPort,
      timeoutMs,
      signal: ctx.signal,
      what: `"${name}" (127.0.0.1:${this.settings.sshPort})`,
      alive: async () => {
        const s = await this.vmState(ctx);
        if (s === "running" || s === "starting") return true;
        const vtx = vtxProblem(this.deps.readFile(this.vmLogPath()) ?? "");
        if (vtx && !this.settings.noVtxCheck) throw new TsmError("VTX_UNAVAILABLE", `"${name}" stopped at boot: ${vtx}. Enable VT-x/AMD-V in the BIOS/UEFI settings or turn off other hypervisors`);
        return false;
      },
    });
    ctx.log("Waiting for the host-only address...");
    const cidr = this.cidr();
    const inNet = (ip: string | undefined): ip is string => ip !== undefined && parseCidr(`${ip}/${cidr.prefix}`)?.network === cidr.network && ip !== cidr.ip;
    const deadline = started + timeoutMs;
    let last = "";
    for (;;) {
      throwIfAborted(ctx.signal, `waiting for the address of "${name}"`);
      const prop = await this.vbm(ctx).tryRun(["guestproperty", "get", name, "/VirtualBox/GuestInfo/Net/1/V4/IP"]);
      let ip = prop.ok ? parseGuestProperty(prop.stdout) : undefined;
      if (!inNet(ip)) {
        try {
          ip = await this.host.withRemote(ctx, async (remote) => {
            const r = await remote.run("ip -o link show; echo @@; ip -o -4 addr show");
            const [link = "", addr = ""] = r.stdout.split("@@");
            return ipv4ForMac(link, addr, this.settings.hostOnlyMac);
          });
          if (!inNet(ip)) last = ip ? `the host-only NIC has ${ip}, outside ${networkOf(cidr)}` : "the host-only NIC has no IPv4 address yet";
        } catch (err) {
          if (isTsmError(err) && /HOST_KEY/.test(err.code)) throw err;
          last = (err as Error).message;
        }
      }
      if (inNet(ip)) {
        if (this.settings.ipAddress !== "" && this.settings.ipAddress !== ip) ctx.log(`The address of "${name}" changed from ${this.settings.ipAddress} to ${ip}.`);
        return ip;
      }
      if (Date.now() >= deadline) {
        throw new TsmError("NO_ADDRESS", `"${name}" got no address on the host-only network ${networkOf(cidr)} (${this.settings.hostOnlyInterface}) within ${Math.round(timeoutMs / 1000)} s: ${last}`, {
          details: [
            this.settings.hostOnlyNoDhcp
              ? "The host-only DHCP server is disabled (--virtualbox-hostonly-no-dhcp): the guest needs its own address."
              : `Check the DHCP server of ${this.settings.hostOnlyInterface} (VBoxManage list dhcpservers) and the guest's console log ${path.join(this.host.machineDir, CONSOLE_LOG)}.`,
          ],
        });
      }
      await this.deps.sleep(2000, ctx.signal, `waiting for the address of "${name}"`);
    }
  }

  /** Mounts the shared folders at /<name> as boot2docker's automounter did; a failure only warns. */
  private async mountShares(ctx: OpContext): Promise<void> {
    const shares = this.shares();
    if (shares.length === 0) return;
    try {
      await this.host.withRemote(ctx, async (remote) => {
        for (const [, share] of shares) {
          const dir = `/${share}`;
          const q = shQuote;
          const r = await remote.run(
            `mountpoint -q ${q(dir)} || { sudo -n mkdir -p ${q(dir)} && sudo -n mount -t vboxsf -o uid=$(id -u),gid=$(id -g) ${q(share)} ${q(dir)}; }`,
          );
          if (r.exitCode !== 0) ctx.log(`Warning: the shared folder ${share} could not be mounted at ${dir}: ${r.stderr.trim().split("\n").pop() ?? ""}`);
        }
      });
    } catch (err) {
      ctx.log(`Warning: the shared folders could not be mounted: ${(err as Error).message}`);
    }
  }

  // ------------------------------------------------------------------ lifecycle

  async getState(ctx: OpContext): Promise<MachineState> {
    return machineStateOf(await this.vmState(ctx));
  }

  async getIp(): Promise<string> {
    if (this.settings.ipAddress === "") throw new MachineStateError(`Machine "${this.vmName}" has no address yet: start it with "tsm start ${this.vmName}"`);
    return this.settings.ipAddress;
  }

  async getUrl(): Promise<string> {
    return `tcp://${await this.getIp()}:2376`;
  }

  async getSshEndpoint(): Promise<SshEndpoint> {
    if (this.settings.sshPort === 0) throw new MachineStateError(`Machine "${this.vmName}" has no SSH port yet: start it with "tsm start ${this.vmName}"`);
    return { host: "127.0.0.1", port: this.settings.sshPort, user: SSH_USER, privateKeyPath: this.keyPath() };
  }

  async start(ctx: OpContext): Promise<void> {
    await this.boot(ctx);
  }

  async stop(ctx: OpContext): Promise<void> {
    const vbm = this.vbm(ctx);
    const name = this.vmName;
    const s = await this.vmState(ctx);
    if (isPoweredOff(s) || s === "saved") return;
    if (s === "paused") await vbm.run(["controlvm", name, "resume"]);
    ctx.log("Stopping the VM (ACPI power button)...");
    await vbm.run(["controlvm", name, "acpipowerbutton"]);
    const limit = stopTimeoutMs(this.host.env);
    const deadline = Date.now() + limit;
    if (await this.poweredOff(ctx, { intervalMs: 1000, giveUp: () => Date.now() >= deadline, what: `stopping "${name}"` })) return;
    ctx.log(`"${name}" did not power off within ${Math.round(limit / 1000)} s of the ACPI power button: powering it off.`);
    await this.powerOff(ctx);
  }

  /**
   * Polls VirtualBox until the VM is powered off: true when it is, false when `giveUp` (asked
   * after each check, with the number of checks before it) says to stop waiting.
   */
  private async poweredOff(ctx: OpContext, o: { intervalMs: number; giveUp: (checks: number) => boolean; what: string }): Promise<boolean> {
    for (let i = 0; ; i++) {
      if (isPoweredOff(await this.vmState(ctx))) return true;
      if (o.giveUp(i)) return false;
      await this.deps.sleep(o.intervalMs, ctx.signal, o.what);
    }
  }

  /** Pulls the plug and waits (up to 30 checks, half a second apart) until VirtualBox says it is off. */
  private async powerOff(ctx: OpContext): Promise<void> {
    await this.vbm(ctx).run(["controlvm", this.vmName, "poweroff"]);
    if (await this.poweredOff(ctx, { intervalMs: 500, giveUp: (i) => i >= 29, what: `powering off "${this.vmName}"` })) return;
    throw new TsmError("VBOX_POWEROFF", `"${this.vmName}" did not power off`);
  }

  /** A VM in state `s` brought to rest: a saved state is discarded, a running (or paused) VM powered off. */
  private async bringDown(ctx: OpContext, s: string): Promise<void> {
    if (s === "saved") await this.vbm(ctx).run(["discardstate", this.vmName]);
    else if (!isPoweredOff(s)) await this.powerOff(ctx);
  }

  async kill(ctx: OpContext): Promise<void> {
    const s = await this.vmState(ctx);
    if (isPoweredOff(s)) throw new MachineStateError(`Machine "${this.vmName}" is already stopped.`);
    await this.bringDown(ctx, s);
  }

  async restart(ctx: OpContext): Promise<void> {
    await this.stop(ctx);
    await this.boot(ctx);
  }

  async remove(ctx: OpContext): Promise<void> {
    const vbm = this.vbm(ctx);
    const name = this.vmName;
    const info = await this.vmInfo(ctx);
    if (info) {
      await this.bringDown(ctx, info.get("VMState") ?? "");
      // --delete removes the VM's settings, logs and its hard disks (disk.vdi, closed and deleted).
      await vbm.run(["unregistervm", name, "--delete"]);
    }
    // Media of this machine still in VirtualBox's registry (a create that stopped midway,
    // the seed DVD): closed, and the disk deleted. The host-only adapter stays for other machines.
    const inMachineDir = (p: string) => {
      const rel = path.relative(this.host.machineDir, p);
      return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
    };
    for (const [kind, list] of [["disk", "hdds"], ["dvd", "dvds"]] as const) {
      for (const m of parseMedia(await vbm.run(["list", list]))) {
        if (!inMachineDir(m.location)) continue;
        await vbm.run(["closemedium", kind, m.location, ...(kind === "disk" ? ["--delete"] : [])]);
      }
    }
  }

  config(): Record<string, unknown> {
    return { ...this.settings };
  }

  inspectView(): Record<string, unknown> {
    const s = this.settings;
    return baseDriverView(
      { ipAddress: s.ipAddress, machineName: this.vmName, sshUser: SSH_USER, sshPort: s.sshPort, sshKeyPath: this.keyPath(), storePath: this.host.storeRoot },
      {
        VBoxManager: {},
        HostInterfaces: {},
        CPU: s.cpuCount,
        Memory: s.memory,
        DiskSize: s.diskSizeMb,
        NatNicType: s.natNicType,
        ImageURL: s.imageUrl,
        HostOnlyCIDR: s.hostOnlyCidr,
        HostOnlyNicType: s.hostOnlyNicType,
        HostOnlyPromiscMode: s.hostOnlyNicPromisc,
        HostOnlyNoDHCP: s.hostOnlyNoDhcp,
        HostOnlyInterface: s.hostOnlyInterface,
        UIType: s.uiType,
        NoShare: s.noShare,
        ShareFolder: s.shareFolder,
        DNSProxy: !s.noDnsProxy,
        NoVTXCheck: s.noVtxCheck,
        HostDNSResolver: s.hostDnsResolver,
      },
    );
  }
}

/** VirtualBox's states of a VM that is not running: shut down, or its process gone (`aborted`). */
function isPoweredOff(vmState: string): boolean {
  return vmState === "poweroff" || vmState === "aborted";
}

/** /proc/cpuinfo lists the `vmx` (Intel VT-x) or `svm` (AMD-V) flag when the CPU offers it. */
export function hasHardwareVirtualization(cpuinfo: string): boolean {
  return /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo);
}
