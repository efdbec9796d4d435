/**
 * A minimal QEMU launcher for tests (not the product driver): boots a cloud image from
 * ensureVmImage() on a copy-on-write overlay, with a NoCloud seed written by
 * src/cloudinit/seed.ts, under TCG (or KVM when /dev/kvm is usable and TSM_TEST_VM_ACCEL is
 * not "tcg"), detached, with SSH forwarded to 127.0.0.1:<free port>.
 *
 * Per VM directory (`dir`, default a fresh /tmp/tsm-vm-<name>-XXXXXX):
 *   overlay.qcow2   qemu-img create -f qcow2 -b <base> -F qcow2 (optionally grown)
 *   seed.iso        the cidata volume (by default a CD-ROM on a virtio-scsi controller)
 *   serial.log      the guest's ttyS0 (GRUB, kernel, systemd, cloud-init output)
 *   qemu.pid        QEMU's pid file;  qmp.sock  QMP control socket;  qemu.stderr  launch errors
 *
 * QEMU is started with -daemonize, so it is not a child of the test process. So that no VM
 * outlives the process that started it (also when a signal ends it, e.g. vitest's teardown or
 * Ctrl-C), a detached watchdog (`sh`) reads a pipe from this process and SIGKILLs the QEMU
 * when the pipe closes; TSM_TEST_VM_KEEP=1 disables it.
 *
 * Note: `-nographic` cannot be combined with `-daemonize` (QEMU refuses), so the VM has
 * `-display none` and its serial port goes to serial.log.
 */
import { qmpCommand as driverQmp } from '../../drivers/qemu/qmp.js';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCidataIso, type NoCloudSeed } from '../../src/cloudinit/seed.js';
import { sshBannerOnce } from '../../src/vm/ssh-wait.js';
import { testBedPrerequisites, which, type Prerequisites } from '../bed/prereqs.js';
import { run, runOk, sleep, type RunResult } from '../bed/util.js';

export interface StartVmOptions {
  /** qcow2 base image (ensureVmImage().qcow2Path). Never written to. */
  baseImage: string;
  /** First-boot configuration (buildNoCloudSeed()). */
  seed: NoCloudSeed;
  /** For the VM directory and QEMU's -name. Default "vm". */
  name?: string;
  /** Default: a fresh directory under the OS temp dir, removed by destroy(). */
  dir?: string;
  memoryMiB?: number;
  cpus?: number;
  /** Grow the overlay to this size (qemu-img resize syntax, e.g. "8G"); cloud-init grows the root filesystem. */
  diskSize?: string;
  /**
   * How the seed is attached. Default `scsi-cd`: a CD-ROM on a virtio-scsi controller.
   * `virtio-blk`: a read-only virtio disk. `ahci-cd`: a CD-ROM on q35's built-in AHCI
   * controller (what `-cdrom` gives), which Debian's cloud kernel cannot see: it is built
   * without AHCI (CONFIG_SATA_AHCI unset; ATA_PIIX, SR and virtio-scsi are modules), so
   * cloud-init finds no seed. Kept to show exactly that.
   */
  seedDevice?: 'scsi-cd' | 'virtio-blk' | 'ahci-cd';
  /** Extra QEMU arguments (e.g. a second NIC). */
  extraArgs?: readonly string[];
}

export interface VmTimings {
  /** `qemu-img create` of the overlay (plus resize). */
  overlayMs: number;
  /** Writing the seed ISO. */
  seedMs: number;
  /** QEMU start until it daemonized. */
  launchMs: number;
}

export interface TestVm {
  name: string;
  dir: string;
  pid: number;
  /** 127.0.0.1:<sshPort> reaches the guest's port 22. */
  sshPort: number;
  overlayPath: string;
  seedPath: string;
  serialLogPath: string;
  pidFile: string;
  qmpSocket: string;
  accel: 'kvm' | 'tcg';
  /** Date.now() when QEMU was started. */
  startedAt: number;
  timings: VmTimings;
  /**
   * Waits until `user` can log in with the key (sshd's banner first, then a real `ssh ... true`:
   * cloud-init creates the user and its keys after sshd may already answer). Returns the time
   * from QEMU's start to success, in ms. Throws, with the serial log's tail, on timeout or if
   * QEMU exits.
   */
  waitForSsh(opts: { user: string; privateKeyPath: string; timeoutMs?: number }): Promise<number>;
  /** Runs a command as `user` over the forwarded port (OpenSSH client, batch mode). Never throws. */
  ssh(user: string, privateKeyPath: string, command: string, opts?: { timeoutMs?: number; input?: string }): Promise<RunResult>;
  /** One QMP command; resolves with its `return` value, rejects with its `error`. */
  qmp(execute: string, args?: Record<string, unknown>): Promise<unknown>;
  isRunning(): boolean;
  /**
   * ACPI power-down through QMP (`system_powerdown`); if QEMU has not exited after `timeoutMs`
   * (default 120 s), SIGTERM, then SIGKILL. Says which happened.
   */
  stop(opts?: { timeoutMs?: number }): Promise<'powered-off' | 'killed' | 'not-running'>;
  /** SIGKILL, at once. */
  kill(): Promise<void>;
  /** The serial console so far. */
  serialLog(): string;
  /** kill() and remove the VM directory (kept with TSM_TEST_VM_KEEP=1). */
  destroy(): Promise<void>;
}

const live = new Map<number, string>(); // pid -> pidFile, of VMs this process started and has not stopped
let exitHook = false;

function keep(): boolean {
  return process.env.TSM_TEST_VM_KEEP === '1';
}

function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    if (keep()) return;
    for (const [pid, pidFile] of live) if (isOurQemu(pid, pidFile)) try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
}

/** True when `pid` is alive and is the QEMU that wrote `pidFile` (guards against pid reuse). */
function isOurQemu(pid: number, pidFile: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(pidFile);
  } catch {
    return false;
  }
}

/**
 * A detached `sh` (own session, so signals meant for this process group miss it) that waits
 * for EOF on a pipe from this process, then SIGKILLs the QEMU that wrote `pidFile` if it still
 * runs. The kernel closes the pipe when this process dies, however it dies.
 */
function startWatchdog(pidFile: string): void {
  const script = 'cat >/dev/null; pid=$(cat "$1" 2>/dev/null) || exit 0; grep -qaF "$1" "/proc/$pid/cmdline" 2>/dev/null && kill -9 "$pid"';
  const dog = spawn('sh', ['-c', script, 'tsm-test-vm-watchdog', pidFile], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  dog.on('error', () => undefined);
  dog.stdin!.on('error', () => undefined);
  dog.unref();
  (dog.stdin as unknown as { unref?: () => void }).unref?.();
}

/**
 * What building (ensureVmImage) and booting (startVm) test VMs needs on this machine: root,
 * loop devices and the tools below. Use with describeTestBed().
 */
export function vmPrerequisites(): Prerequisites {
  const base = testBedPrerequisites(['image', 'ssh']);
  const missing = [...base.missing];
  const need = (cmd: string, pkg: string): void => {
    if (!which(cmd)) missing.push(`\`${cmd}\` not found (apt-get install ${pkg})`);
  };
  need('qemu-system-x86_64', 'qemu-system-x86');
  need('qemu-img', 'qemu-utils');
  need('sfdisk', 'fdisk');
  need('mkfs.ext4', 'e2fsprogs');
  need('losetup', 'mount');
  need('partx', 'util-linux');
  need('blkid', 'util-linux');
  need('fstrim', 'util-linux');
  need('flock', 'util-linux');
  let loops = false;
  try {
    loops = statSync('/dev/loop-control').isCharacterDevice();
  } catch {
    /* none */
  }
  if (!loops) missing.push('no loop device support (/dev/loop-control)');
  return { ok: missing.length === 0, missing };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** KVM when /dev/kvm can be opened (and TSM_TEST_VM_ACCEL is not "tcg"), else TCG. */
export function pickAccel(): 'kvm' | 'tcg' {
  if (process.env.TSM_TEST_VM_ACCEL === 'tcg') return 'tcg';
  if (process.env.TSM_TEST_VM_ACCEL === 'kvm') return 'kvm';
  try {
    closeSync(openSync('/dev/kvm', 'r+'));
    return 'kvm';
  } catch {
    /* no KVM here */
  }
  return 'tcg';
}

/** Creates the overlay, writes the seed and starts QEMU detached. Resolves once QEMU runs. */
export async function startVm(opts: StartVmOptions): Promise<TestVm> {
  const name = opts.name ?? 'vm';
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(name)) throw new Error(`[test bed] bad VM name ${JSON.stringify(name)}`);
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `tsm-vm-${name}-`));
  mkdirSync(dir, { recursive: true });
  const overlayPath = join(dir, 'overlay.qcow2');
  const seedPath = join(dir, 'seed.iso');
  const serialLogPath = join(dir, 'serial.log');
  const pidFile = join(dir, 'qemu.pid');
  const qmpSocket = join(dir, 'qmp.sock');
  if (qmpSocket.length > 100) throw new Error(`[test bed] VM directory path too long for a unix socket: ${dir}`);

  let t = Date.now();
  await runOk('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', opts.baseImage, '-F', 'qcow2', overlayPath]);
  if (opts.diskSize) await runOk('qemu-img', ['resize', '-q', overlayPath, opts.diskSize]);
  const overlayMs = Date.now() - t;
  t = Date.now();
  await writeCidataIso(opts.seed, seedPath);
  const seedMs = Date.now() - t;

  const accel = pickAccel();
  const seedDrive = {
    'scsi-cd': [
      '-device', 'virtio-scsi-pci,id=scsi0',
      '-drive', `if=none,id=seed,file=${seedPath},format=raw,media=cdrom,readonly=on`,
      '-device', 'scsi-cd,bus=scsi0.0,drive=seed',
    ],
    'virtio-blk': ['-drive', `file=${seedPath},format=raw,if=virtio,readonly=on`],
    'ahci-cd': ['-drive', `file=${seedPath},format=raw,media=cdrom,readonly=on`],
  }[opts.seedDevice ?? 'scsi-cd'];
  installExitHook();
  for (let attempt = 1; ; attempt++) {
    const sshPort = await freePort();
    rmSync(serialLogPath, { force: true });
    const args = [
      '-name', `tsm-test-${name}`,
      '-machine', 'q35',
      '-accel', accel,
      '-m', String(opts.memoryMiB ?? 2048),
      '-smp', String(opts.cpus ?? 2),
      '-display', 'none',
      '-serial', `file:${serialLogPath}`,
      '-monitor', 'none',
      '-qmp', `unix:${qmpSocket},server=on,wait=off`,
      '-pidfile', pidFile,
      '-daemonize',
      '-drive', `file=${overlayPath},format=qcow2,if=virtio,discard=unmap`,
      ...seedDrive,
      '-netdev', `user,id=net0,hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
      '-device', 'virtio-net-pci,netdev=net0',
      '-device', 'virtio-rng-pci',
      ...(opts.extraArgs ?? []),
    ];
    const startedAt = Date.now();
    const r = await run('qemu-system-x86_64', args, { timeoutMs: 60_000 });
    const launchMs = Date.now() - startedAt;
    if (r.exitCode !== 0) {
      // Someone took the port between freePort() and QEMU's bind: try another.
      if (/hostfwd|Could not set up host forwarding/i.test(r.stderr) && attempt < 5) continue;
      throw new Error(`[test bed] qemu-system-x86_64 failed (${r.exitCode}): ${r.stderr.trim()}\nargs: ${args.join(' ')}`);
    }
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    live.set(pid, pidFile);
    if (!keep()) startWatchdog(pidFile);
    return makeVm({ name, dir, pid, sshPort, overlayPath, seedPath, serialLogPath, pidFile, qmpSocket, accel, startedAt, timings: { overlayMs, seedMs, launchMs }, ownDir: opts.dir === undefined });
  }
}

function makeVm(v: Omit<TestVm, 'waitForSsh' | 'ssh' | 'qmp' | 'isRunning' | 'stop' | 'kill' | 'serialLog' | 'destroy'> & { ownDir: boolean }): TestVm {
  const { ownDir, ...fields } = v;
  const isRunning = (): boolean => isOurQemu(v.pid, v.pidFile);
  const serialLog = (): string => {
    try {
      return readFileSync(v.serialLogPath, 'utf8');
    } catch {
      return '';
    }
  };
  const serialTail = (): string => serialLog().replace(/\r/g, '').trimEnd().split('\n').slice(-40).join('\n');
  const waitExit = async (ms: number): Promise<boolean> => {
    const end = Date.now() + ms;
    while (isRunning()) {
      if (Date.now() > end) return false;
      await sleep(250);
    }
    live.delete(v.pid);
    return true;
  };
  const vm: TestVm = {
    ...fields,
    isRunning,
    serialLog,
    ssh: (user, key, command, o = {}) => sshRun(v.sshPort, user, key, command, o),
    qmp: (execute, args) => qmpCommand(v.qmpSocket, execute, args),
    async waitForSsh({ user, privateKeyPath, timeoutMs = 10 * 60_000 }) {
      const end = Date.now() + timeoutMs;
      let last = '';
      while (Date.now() < end) {
        if (!isRunning()) throw new Error(`[test bed] QEMU exited while waiting for SSH. Serial console:\n${serialTail()}`);
        if (await sshBannerOnce('127.0.0.1', v.sshPort, 5000)) {
          const r = await sshRun(v.sshPort, user, privateKeyPath, 'true', { timeoutMs: 30_000 });
          if (r.exitCode === 0) return Date.now() - v.startedAt;
          last = r.stderr.trim();
        }
        await sleep(1000);
      }
      throw new Error(`[test bed] no SSH login as ${user} on 127.0.0.1:${v.sshPort} within ${timeoutMs / 1000} s${last ? ` (last: ${last})` : ''}. Serial console:\n${serialTail()}`);
    },
    async stop({ timeoutMs = 120_000 } = {}) {
      if (!isRunning()) {
        live.delete(v.pid);
        return 'not-running';
      }
      try {
        await qmpCommand(v.qmpSocket, 'system_powerdown');
        if (await waitExit(timeoutMs)) return 'powered-off';
      } catch {
        /* QMP gone: fall through to signals */
      }
      if (!isRunning()) {
        live.delete(v.pid);
        return 'powered-off';
      }
      try {
        process.kill(v.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      if (!(await waitExit(5000))) {
        try {
          process.kill(v.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        await waitExit(5000);
      }
      return 'killed';
    },
    async kill() {
      if (isRunning()) {
        try {
          process.kill(v.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await waitExit(10_000);
    },
    async destroy() {
      if (keep()) {
        process.stderr.write(`[test bed] TSM_TEST_VM_KEEP=1: leaving VM ${v.name} (pid ${v.pid}, ssh port ${v.sshPort}) and ${v.dir}\n`);
        live.delete(v.pid);
        return;
      }
      await vm.kill();
      if (ownDir) rmSync(v.dir, { recursive: true, force: true });
    },
  };
  return vm;
}

export function sshRun(port: number, user: string, privateKeyPath: string, command: string, opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return run(
    'ssh',
    [
      '-i', privateKeyPath,
      '-p', String(port),
      '-o', 'BatchMode=yes',
      '-o', 'IdentitiesOnly=yes',
      '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'LogLevel=ERROR',
      '-o', 'ConnectTimeout=20',
      `${user}@127.0.0.1`,
      command,
    ],
    { timeoutMs: opts.timeoutMs ?? 120_000, ...(opts.input !== undefined ? { input: opts.input } : {}) },
  );
}

/** One QMP command, through the qemu driver's own client (drivers/qemu/qmp.ts). */
export function qmpCommand(socket: string, execute: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
  return driverQmp(socket, execute, args, { timeoutMs });
}
