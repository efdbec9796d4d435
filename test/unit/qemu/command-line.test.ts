import { describe, expect, it } from "vitest";
import { qemuArgs, qemuOptValue, type QemuLaunch } from "../../../drivers/qemu/command-line.js";

const launch: QemuLaunch = {
  machineName: "dev",
  arch: "x86_64",
  accel: "tcg",
  cpuCount: 2,
  memoryMb: 2048,
  files: { disk: "/s/m/dev/disk.qcow2", seed: "/s/m/dev/seed.iso", pidFile: "/s/m/dev/qemu.pid", qmpSocket: "/s/m/dev/qmp.sock", serialLog: "/s/m/dev/serial.log" },
  sshHostPort: 40022,
  engineHostPort: 42376,
  engineGuestPort: 2376,
  natMac: "52:54:00:aa:bb:01",
  sharedMac: "52:54:00:aa:bb:02",
  sharedGroup: "239.255.1.2:30000",
};

describe("qemuArgs", () => {
  it("is the exact command line for an x86_64 machine under TCG", () => {
    expect(qemuArgs(launch)).toEqual([
      "-name", "tsm-dev",
      "-machine", "q35,accel=tcg",
      "-cpu", "max",
      "-smp", "2",
      "-m", "2048M",
      "-drive", "if=none,id=disk0,file=/s/m/dev/disk.qcow2,format=qcow2,discard=unmap",
      "-device", "virtio-blk-pci,drive=disk0,bootindex=0",
      "-device", "virtio-scsi-pci,id=scsi0",
      "-drive", "if=none,id=seed0,file=/s/m/dev/seed.iso,format=raw,media=cdrom,readonly=on",
      "-device", "scsi-cd,bus=scsi0.0,drive=seed0",
      "-netdev", "user,id=nat0,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:42376-:2376",
      "-device", "virtio-net-pci,netdev=nat0,mac=52:54:00:aa:bb:01",
      "-netdev", "socket,id=shared0,mcast=239.255.1.2:30000,localaddr=127.0.0.1",
      "-device", "virtio-net-pci,netdev=shared0,mac=52:54:00:aa:bb:02",
      "-device", "virtio-rng-pci",
      "-display", "none",
      "-monitor", "none",
      "-serial", "file:/s/m/dev/serial.log",
      "-qmp", "unix:/s/m/dev/qmp.sock,server=on,wait=off",
      "-pidfile", "/s/m/dev/qemu.pid",
      "-daemonize",
    ]);
  });

  it("uses the host CPU with KVM, and virt + firmware on aarch64", () => {
    const kvm = qemuArgs({ ...launch, accel: "kvm" });
    expect(kvm.slice(2, 6)).toEqual(["-machine", "q35,accel=kvm", "-cpu", "host"]);
    const arm = qemuArgs({ ...launch, arch: "aarch64", accel: "hvf", firmware: "/fw/edk2.fd" });
    expect(arm.slice(2, 12)).toEqual(["-machine", "virt,accel=hvf", "-cpu", "host", "-smp", "2", "-m", "2048M", "-bios", "/fw/edk2.fd"]);
  });

  it("passes the attempt's CPU model as given, its feature options unescaped", () => {
    const masked = qemuArgs({ ...launch, accel: "kvm", cpuModel: "host,arch-capabilities=off" });
    expect(masked.slice(2, 6)).toEqual(["-machine", "q35,accel=kvm", "-cpu", "host,arch-capabilities=off"]);
    expect(qemuArgs({ ...launch, accel: "tcg", cpuModel: "max" }).slice(4, 6)).toEqual(["-cpu", "max"]);
    expect(qemuArgs({ ...launch, accel: "kvm", cpuModel: "" }).slice(4, 6)).toEqual(["-cpu", "host"]);
  });

  it("doubles commas in paths that QEMU parses as options, so a store path cannot add options", () => {
    const evil = "/home/u/a,format=raw,file=/etc/shadow";
    const args = qemuArgs({ ...launch, files: { ...launch.files, disk: `${evil}/disk.qcow2`, seed: `${evil}/seed.iso`, qmpSocket: `${evil}/q.sock` } });
    expect(args).toContain("if=none,id=disk0,file=/home/u/a,,format=raw,,file=/etc/shadow/disk.qcow2,format=qcow2,discard=unmap");
    expect(args).toContain("if=none,id=seed0,file=/home/u/a,,format=raw,,file=/etc/shadow/seed.iso,format=raw,media=cdrom,readonly=on");
    expect(args).toContain("unix:/home/u/a,,format=raw,,file=/etc/shadow/q.sock,server=on,wait=off");
    expect(qemuOptValue("a,b,,c")).toBe("a,,b,,,,c");
  });
});
