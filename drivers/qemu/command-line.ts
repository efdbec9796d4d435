/**
 * The QEMU command line for a machine: a pure function of its settings and files, so
 * the exact argv is unit-tested. Contract with the rest of the driver:
 * - QEMU detaches (`-daemonize`) once the VM is set up; its exit status and stderr say
 *   whether it started (a busy forwarded port, a bad disk, or KVM refusing the CPU model
 *   fail here, before any guest runs; after detaching its stderr is /dev/null).
 * - Accelerator and CPU model come from the start's attempt (accel.ts).
 * - Pid file, QMP socket and serial log live where `QemuFiles` says (the machine directory,
 *   except a QMP socket whose path would exceed the sockaddr_un limit).
 * - Disk: the per-machine qcow2 overlay as a virtio disk. Seed: the NoCloud ISO on a
 *   virtio-scsi CD (Debian's cloud kernel has no AHCI, so q35's built-in CD is invisible).
 * - NIC 1: user-mode networking with host forwards on 127.0.0.1 only (SSH and the engine).
 *   NIC 2: the store's shared network, a UDP multicast group on the loopback interface,
 *   which every QEMU machine of the store joins, so they reach each other (swarm).
 */

export type Accelerator = "kvm" | "hvf" | "tcg";

export interface QemuFiles {
  disk: string;
  seed: string;
  pidFile: string;
  qmpSocket: string;
  serialLog: string;
}

export interface QemuLaunch {
  machineName: string;
  arch: "x86_64" | "aarch64";
  accel: Accelerator;
  /** QEMU's -cpu value, options included (e.g. "host,arch-capabilities=off"); default: max under TCG, else host. */
  cpuModel?: string;
  cpuCount: number;
  memoryMb: number;
  files: QemuFiles;
  sshHostPort: number;
  engineHostPort: number;
  engineGuestPort: number;
  natMac: string;
  sharedMac: string;
  /** "230.x.y.z:port" */
  sharedGroup: string;
  /** UEFI firmware for aarch64 (x86_64 boots with SeaBIOS). */
  firmware?: string;
}

/** QEMU's option syntax: a comma inside a value is written twice. */
export function qemuOptValue(v: string): string {
  return v.replaceAll(",", ",,");
}

export function qemuArgs(l: QemuLaunch): string[] {
  const v = qemuOptValue;
  const machine = l.arch === "x86_64" ? "q35" : "virt";
  const cpu = l.cpuModel || (l.accel === "tcg" ? "max" : "host");
  const args = [
    "-name", v(`tsm-${l.machineName}`),
    "-machine", `${machine},accel=${l.accel}`,
    "-cpu", cpu,
    "-smp", String(l.cpuCount),
    "-m", `${l.memoryMb}M`,
  ];
  if (l.firmware) args.push("-bios", l.firmware);
  args.push(
    "-drive", `if=none,id=disk0,file=${v(l.files.disk)},format=qcow2,discard=unmap`,
    "-device", "virtio-blk-pci,drive=disk0,bootindex=0",
    "-device", "virtio-scsi-pci,id=scsi0",
    "-drive", `if=none,id=seed0,file=${v(l.files.seed)},format=raw,media=cdrom,readonly=on`,
    "-device", "scsi-cd,bus=scsi0.0,drive=seed0",
    "-netdev",
    `user,id=nat0,hostfwd=tcp:127.0.0.1:${l.sshHostPort}-:22,hostfwd=tcp:127.0.0.1:${l.engineHostPort}-:${l.engineGuestPort}`,
    "-device", `virtio-net-pci,netdev=nat0,mac=${l.natMac}`,
    "-netdev", `socket,id=shared0,mcast=${l.sharedGroup},localaddr=127.0.0.1`,
    "-device", `virtio-net-pci,netdev=shared0,mac=${l.sharedMac}`,
    "-device", "virtio-rng-pci",
    "-display", "none",
    "-monitor", "none",
    "-serial", `file:${l.files.serialLog}`,
    "-qmp", `unix:${v(l.files.qmpSocket)},server=on,wait=off`,
    "-pidfile", l.files.pidFile,
    "-daemonize",
  );
  return args;
}
