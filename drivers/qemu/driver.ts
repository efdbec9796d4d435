/**
 * The QEMU driver's machine operations. Everything the VM is lives in the machine
 * directory: the disk overlay (`disk.qcow2`, backed by a verified image in the store's
 * cache), the first-boot seed (`seed.iso`), tsm's login key (`id_ed25519`), and while it
 * runs QEMU's pid file, QMP socket and serial console log. State always comes from the
 * process and QMP, never from a stored flag.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Driver, DriverHost, MachineState, OpContext, SshEndpoint } from "../../src/model/driver.js";
import { envSecondsMs } from "../../src/model/timeouts.js";
import { ExitCode, MachineStateError, PreCreateCheckError, TsmError } from "../../src/model/errors.js";
import { throwIfAborted } from "../../src/model/abort.js";
import { baseDriverView } from "../../src/model/inspect-base.js";
import type { AccelAttempt } from "./accel.js";
import type { LaunchResult } from "./start-attempts.js";
import { qemuArgs, qemuOptValue, type Accelerator, type QemuFiles } from "./command-line.js";
import { macFor, SHARED_NETWORK, sharedGroupFor } from "./network.js";
import { runningPid, waitForExit } from "./process.js";
import { machineStateOfRunState, qmpCommand } from "./qmp.js";
import type { QemuConfig } from "./settings.js";

const SOCKADDR_UN_MAX = 100;

export class QemuDriver implements Driver {
  readonly name = "qemu";
  readonly features = { powerControl: true, provisionable: true, firstBoot: true } as const;
  private hostKey: string | undefined;

  constructor(
    private settings: QemuConfig,
    private readonly host: DriverHost,
  ) {}

  // ---- files -------------------------------------------------------------------------

  files(): QemuFiles {
    const dir = this.host.machineDir;
    return {
      disk: path.join(dir, "disk.qcow2"),
      seed: path.join(dir, "seed.iso"),
      pidFile: path.join(dir, "qemu.pid"),
      qmpSocket: this.qmpSocketPath(),
      serialLog: path.join(dir, "serial.log"),
    };
  }

  /** In the machine directory unless that path is too long for a unix socket; then in a private directory of ours under the temp dir. */
  private qmpSocketPath(): string {
    const inDir = path.join(this.host.machineDir, "qmp.sock");
    if (Buffer.byteLength(inDir) <= SOCKADDR_UN_MAX) return inDir;
    const uid = typeof process.getuid === "function" ? process.getuid() : 0;
    const short = path.join(os.tmpdir(), `tsm-qmp-${uid}`);
    const id = createHash("sha256").update(this.host.machineDir).digest("hex").slice(0, 16);
    return path.join(short, `${id}.sock`);
  }

  private ensureQmpDir(): void {
    const dir = path.dirname(this.files().qmpSocket);
    if (dir === this.host.machineDir) return;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    const uid = typeof process.getuid === "function" ? process.getuid() : st.uid;
    if (st.uid !== uid || (st.mode & 0o077) !== 0) {
      throw new TsmError("QMP_DIR", `${dir} must be a directory of yours that nobody else can write (mode 0700); remove it and retry`);
    }
  }

  private pid(): number | undefined {
    const f = this.files();
    return runningPid(f.pidFile, qemuOptValue(f.disk));
  }

  // ---- create ------------------------------------------------------------------------

  async preCreateCheck(): Promise<void> {
    const { which } = await import("./tools.js");
    if (!(await which(this.settings.binary, this.host.env))) {
      throw new PreCreateCheckError(`QEMU was not found (${this.settings.binary}): install it (Debian/Ubuntu: apt-get install qemu-system-x86 qemu-utils; macOS: brew install qemu) or give --qemu-binary`);
    }
    if (!(await which(this.qemuImg(), this.host.env))) {
      throw new PreCreateCheckError(`qemu-img was not found: install it (Debian/Ubuntu: apt-get install qemu-utils)`);
    }
  }

  /** qemu-img beside the QEMU binary when the binary was given as a path, else from PATH. */
  private qemuImg(): string {
    const b = this.settings.binary;
    return b.includes("/") ? path.join(path.dirname(b), "qemu-img") : "qemu-img";
  }

  async create(ctx: OpContext): Promise<void> {
    const { ensureBaseImage } = await import("./image.js");
    const base = await ensureBaseImage(ctx, {
      exec: this.host.exec,
      cacheDir: path.join(this.host.cacheDir, "images"),
      source: this.settings.imageUrl,
      checksumUrl: this.settings.checksumUrl,
      qemuImg: this.qemuImg(),
    });
    this.settings = { ...this.settings, imageDigest: base.digest, imagePath: base.path };
    const diskBytes = this.settings.diskSizeMb * 1024 * 1024;
    if (diskBytes < base.virtualSize) {
      throw new TsmError(
        "DISK_TOO_SMALL",
        `--qemu-disk-size ${this.settings.diskSizeMb} is smaller than the image (${Math.ceil(base.virtualSize / 1048576)} MB): give at least that`,
        { exitCode: ExitCode.usage },
      );
    }
    const f = this.files();
    ctx.log("Creating the disk (copy-on-write overlay on the cached image)...");
    await this.host.exec(this.qemuImg(), ["create", "-q", "-f", "qcow2", "-F", base.format, "-b", base.path, f.disk, String(diskBytes)], { signal: ctx.signal });

    const { freeLocalPorts } = await import("../../src/vm/ports.js");
    const [sshPort, engineHostPort] = await freeLocalPorts(2);
    const sharedAddress = await this.host.leases.lease(SHARED_NETWORK);
    const natMac = macFor(this.host.machineName, 0);
    const sharedMac = macFor(this.host.machineName, 1);
    this.settings = { ...this.settings, sshPort: sshPort!, engineHostPort: engineHostPort!, sharedAddress, sharedGroup: sharedGroupFor(this.host.storeRoot), natMac, sharedMac };

    ctx.log("Writing the first-boot seed (cloud-init)...");
    const { writeFirstBoot } = await import("../../src/vm/first-boot.js");
    const boot = await writeFirstBoot({
      machineDir: this.host.machineDir,
      hostname: this.host.machineName,
      instanceId: `tsm-${this.host.machineName}-${Date.now().toString(36)}`,
      user: this.settings.sshUser,
      networkConfig: {
        version: 2,
        ethernets: {
          nat: { match: { macaddress: natMac }, dhcp4: true },
          shared: { match: { macaddress: sharedMac }, dhcp4: false, addresses: [`${sharedAddress}/${SHARED_NETWORK.prefixLength}`] },
        },
      },
    });
    this.hostKey = boot.hostKey;
    this.settings = { ...this.settings, hostKey: boot.hostKey };
    await this.start(ctx);
  }

  expectedHostKey(): string | undefined {
    return this.settings.hostKey || this.hostKey;
  }

  // ---- power -------------------------------------------------------------------------

  async start(ctx: OpContext): Promise<void> {
    const f = this.files();
    if (this.pid() !== undefined) throw new MachineStateError(`Machine "${this.host.machineName}" is already running.`);
    for (const [file, what] of [
      [f.disk, "disk"],
      [f.seed, "first-boot seed"],
    ] as const) {
      if (!existsSync(file)) {
        throw new TsmError("VM_FILES_MISSING", `The ${what} of "${this.host.machineName}" is missing (${file}): remove the machine with "tsm rm -f ${this.host.machineName}" and create it again`);
      }
    }
    const { isLocalPortFree } = await import("../../src/vm/ports.js");
    for (const [port, what] of [
      [this.settings.sshPort, "SSH"],
      [this.settings.engineHostPort, "Docker engine"],
    ] as const) {
      if (!(await isLocalPortFree(port))) {
        throw new TsmError("PORT_IN_USE", `127.0.0.1:${port}, the ${what} port of "${this.host.machineName}", is in use by another process: stop that process and run "tsm start ${this.host.machineName}" again`);
      }
    }
    const { accelPlan, probeHost } = await import("./accel.js");
    const { runAttempts } = await import("./start-attempts.js");
    const s = this.settings;
    const host = s.accel === "tcg" ? { arch: s.arch } : await probeHost(process.platform, s.arch, this.host.exec);
    const plan = accelPlan(s.accel, host, { activeAccel: s.activeAccel, cpuModel: s.cpuModel, accelFallback: s.accelFallback });
    this.ensureQmpDir();
    await rm(f.qmpSocket, { force: true });
    if (existsSync(f.serialLog)) await rename(f.serialLog, `${f.serialLog}.1`).catch(() => undefined);

    const outcome = await runAttempts(plan, {
      machineName: this.host.machineName,
      launch: (attempt) => this.launch(ctx, f, attempt),
      log: (line) => ctx.log(line),
      debug: (line) => ctx.debug(line),
    });
    // Recorded (core saves config() after start and create): the next start begins with it.
    this.settings = { ...this.settings, activeAccel: outcome.chosen.accel, cpuModel: outcome.chosen.cpuModel, accelFallback: outcome.accelFallback };
    await this.waitForSsh(ctx);
  }

  /**
   * One QEMU launch. QEMU reports a failure to set the VM up (KVM refusing the CPU model
   * included) on its stderr and exits non-zero before it detaches; once detached its
   * stderr is /dev/null, so a VM that dies right after detaching is caught by its pid.
   */
  private async launch(ctx: OpContext, f: QemuFiles, attempt: AccelAttempt): Promise<LaunchResult> {
    const args = qemuArgs({
      machineName: this.host.machineName,
      arch: this.settings.arch,
      accel: attempt.accel,
      cpuModel: attempt.cpuModel,
      cpuCount: this.settings.cpuCount,
      memoryMb: this.settings.memoryMb,
      files: f,
      sshHostPort: this.settings.sshPort,
      engineHostPort: this.settings.engineHostPort,
      engineGuestPort: this.settings.enginePort,
      natMac: this.settings.natMac,
      sharedMac: this.settings.sharedMac,
      sharedGroup: this.settings.sharedGroup,
      ...(this.settings.firmware ? { firmware: this.settings.firmware } : {}),
    });
    ctx.debug(`${this.settings.binary} ${args.join(" ")}`);
    const r = await this.host.exec(this.settings.binary, args, { reject: false, timeoutMs: 120_000, signal: ctx.signal, cwd: this.host.machineDir });
    if (r.exitCode !== 0) return { ok: false, stderr: r.stderr.trim() || `exit status ${r.exitCode}` };
    for (const waitMs of [0, 300]) {
      if (waitMs) await new Promise((res) => setTimeout(res, waitMs));
      if (this.pid() === undefined) return { ok: false, stderr: `QEMU exited right after it started (detached, so its own message is lost)${r.stderr.trim() ? `: ${r.stderr.trim()}` : ""}` };
    }
    return { ok: true };
  }

  private async waitForSsh(ctx: OpContext): Promise<void> {
    const timeoutMs = envSecondsMs(this.host.env, "TSM_QEMU_BOOT_TIMEOUT", 600);
    ctx.log(`Waiting for SSH on 127.0.0.1:${this.settings.sshPort}...`);
    const { waitForSshBanner } = await import("../../src/vm/ssh-wait.js");
    try {
      await waitForSshBanner({
        host: "127.0.0.1",
        port: this.settings.sshPort,
        timeoutMs,
        signal: ctx.signal,
        alive: async () => this.pid() !== undefined,
        what: `Machine "${this.host.machineName}"`,
        intervalMs: 2000,
      });
    } catch (e) {
      const err = e as TsmError;
      if (err.code === "INTERRUPTED") throw e;
      throw new TsmError(err.code, `${err.message}; its console log: tsm logs ${this.host.machineName}`, { cause: e, details: await this.consoleTail(5) });
    }
  }

  private async consoleTail(lines: number): Promise<string[]> {
    const { readFile } = await import("node:fs/promises");
    const { cleanConsole } = await import("../../src/output/console-text.js");
    const text = await readFile(this.files().serialLog, "utf8").catch(() => "");
    const clean = cleanConsole(text).split("\n").filter((l) => l.trim() !== "");
    return clean.slice(-lines).map((l) => `console: ${l}`);
  }

  async stop(ctx: OpContext): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return;
    const f = this.files();
    ctx.log("Asking the guest to power off (ACPI)...");
    await qmpCommand(f.qmpSocket, "system_powerdown", undefined, { signal: ctx.signal }).catch((e: Error) => ctx.debug(`QMP system_powerdown: ${e.message}`));
    const timeoutMs = envSecondsMs(this.host.env, "TSM_QEMU_STOP_TIMEOUT", 120);
    if (await waitForExit(pid, qemuOptValue(f.disk), timeoutMs, ctx.signal)) return;
    throwIfAborted(ctx.signal, "waiting for the VM to power off");
    ctx.log(`The guest did not power off within ${timeoutMs / 1000} s: stopping the VM forcefully`);
    await this.kill(ctx);
  }

  async kill(ctx: OpContext): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return;
    const f = this.files();
    await qmpCommand(f.qmpSocket, "quit", undefined, { timeoutMs: 3000, signal: ctx.signal }).catch((e: Error) => ctx.debug(`QMP quit: ${e.message}`));
    if (await waitForExit(pid, qemuOptValue(f.disk), 5000)) return;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
    if (!(await waitForExit(pid, qemuOptValue(f.disk), 10_000))) throw new TsmError("KILL_FAILED", `QEMU (pid ${pid}) of "${this.host.machineName}" did not exit after SIGKILL`);
  }

  /** A clean power cycle: the guest shuts down (ACPI, then forced after the deadline) and boots again. */
  async restart(ctx: OpContext): Promise<void> {
    await this.stop(ctx);
    await this.start(ctx);
  }

  async getState(ctx: OpContext): Promise<MachineState> {
    if (this.pid() === undefined) return existsSync(this.files().disk) ? "Stopped" : "Error";
    try {
      const status = (await qmpCommand(this.files().qmpSocket, "query-status", undefined, { timeoutMs: 3000, signal: ctx.signal })) as { status?: string };
      return machineStateOfRunState(String(status?.status ?? ""));
    } catch (e) {
      ctx.debug(`QMP query-status: ${(e as Error).message}`);
      // The process is up but QMP does not answer: it is still setting up, or wedged.
      return this.pid() === undefined ? "Stopped" : "Error";
    }
  }

  // ---- addresses ---------------------------------------------------------------------

  private requireRunning(): void {
    if (this.pid() === undefined) throw new MachineStateError(`Machine "${this.host.machineName}" is not running: start it with "tsm start ${this.host.machineName}"`);
  }

  /** Clients reach the VM through its forwards on the loopback interface. */
  async getIp(): Promise<string> {
    this.requireRunning();
    return "127.0.0.1";
  }

  async getUrl(): Promise<string> {
    this.requireRunning();
    return `tcp://127.0.0.1:${this.settings.engineHostPort}`;
  }

  /** Other machines of the store reach this one on the shared network. */
  async getPeerIp(): Promise<string> {
    return this.settings.sharedAddress;
  }

  async getSshEndpoint(): Promise<SshEndpoint> {
    if (this.settings.sshPort === 0) throw new MachineStateError(`Machine "${this.host.machineName}" was never started: its SSH port is not chosen yet`);
    return { host: "127.0.0.1", port: this.settings.sshPort, user: this.settings.sshUser, privateKeyPath: path.join(this.host.machineDir, "id_ed25519") };
  }

  consoleLogPath(): string {
    return this.files().serialLog;
  }

  // ---- remove ------------------------------------------------------------------------

  async remove(ctx: OpContext): Promise<void> {
    await this.kill(ctx);
    const f = this.files();
    const dir = this.host.machineDir;
    for (const file of [f.disk, f.seed, f.pidFile, f.qmpSocket, f.serialLog, `${f.serialLog}.1`, path.join(dir, "id_ed25519"), path.join(dir, "id_ed25519.pub")]) {
      await rm(file, { force: true });
    }
    await this.host.leases.release(SHARED_NETWORK);
  }

  config(): Record<string, unknown> {
    return { ...this.settings };
  }

  inspectView(): Record<string, unknown> {
    const s = this.settings;
    return baseDriverView(
      { ipAddress: "127.0.0.1", machineName: this.host.machineName, sshUser: s.sshUser, sshPort: s.sshPort, sshKeyPath: path.join(this.host.machineDir, "id_ed25519"), storePath: this.host.storeRoot },
      {
      CPU: s.cpuCount,
      Memory: s.memoryMb,
      DiskSize: s.diskSizeMb,
      ImageURL: s.imageUrl,
      ImageDigest: s.imageDigest,
      QemuBinary: s.binary,
      Accelerator: s.activeAccel || s.accel,
      CPUModel: s.cpuModel,
      AcceleratorFallback: s.accelFallback,
      EnginePort: s.engineHostPort,
      SharedAddress: s.sharedAddress,
      SharedNetwork: s.sharedGroup,
      },
    );
  }
}

export type { Accelerator };
