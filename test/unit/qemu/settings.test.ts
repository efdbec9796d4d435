import { describe, expect, it } from "vitest";
import { qemuConfigSchema, qemuSettingsFromFlags } from "../../../drivers/qemu/settings.js";

const env = (arch: NodeJS.Architecture = "x64", firmware: string[] = []) => ({
  arch,
  firmwareExists: (p: string) => firmware.includes(p),
  defaultImageUrl: (a: NodeJS.Architecture) => `https://images.example/debian-13-genericcloud-${a}.qcow2`,
});

describe("qemu settings", () => {
  it("has Docker Machine-like defaults and a valid stored shape", () => {
    const c = qemuSettingsFromFlags({}, env());
    expect(c).toMatchObject({ arch: "x86_64", binary: "qemu-system-x86_64", accel: "auto", cpuCount: 2, memoryMb: 2048, diskSizeMb: 20000, sshUser: "docker", enginePort: 2376, sshPort: 0 });
    expect(c.imageUrl).toBe("https://images.example/debian-13-genericcloud-x64.qcow2");
    expect(qemuConfigSchema().safeParse(c).success).toBe(true);
  });

  it("takes every flag, resolving local image paths and binaries given as paths", () => {
    const c = qemuSettingsFromFlags(
      { "qemu-cpu-count": 4, "qemu-memory": "4096", "qemu-disk-size": 30000, "qemu-image-url": "images/my.qcow2", "qemu-binary": "./bin/qemu", "qemu-accel": "tcg" },
      env(),
    );
    expect(c).toMatchObject({ cpuCount: 4, memoryMb: 4096, diskSizeMb: 30000, accel: "tcg" });
    expect(c.imageUrl).toBe(`${process.cwd()}/images/my.qcow2`);
    expect(c.binary).toBe(`${process.cwd()}/bin/qemu`);
    expect(qemuSettingsFromFlags({ "qemu-image-url": "https://x.test/a.qcow2" }, env()).imageUrl).toBe("https://x.test/a.qcow2");
  });

  it("starts with no recorded accelerator choice, and reads records written before cpuModel existed", () => {
    const c = qemuSettingsFromFlags({}, env());
    expect(c).toMatchObject({ activeAccel: "", cpuModel: "", accelFallback: "" });
    const { cpuModel: _m, accelFallback: _f, ...older } = { ...c, activeAccel: "kvm" as const };
    const parsed = qemuConfigSchema().parse(older);
    expect(parsed).toMatchObject({ activeAccel: "kvm", cpuModel: "", accelFallback: "" });
  });

  it("uses qemu-system-aarch64 and UEFI firmware on arm64", () => {
    const c = qemuSettingsFromFlags({}, env("arm64", ["/usr/share/AAVMF/AAVMF_CODE.fd"]));
    expect(c).toMatchObject({ arch: "aarch64", binary: "qemu-system-aarch64", firmware: "/usr/share/AAVMF/AAVMF_CODE.fd" });
  });

  it.each([
    [{ "qemu-cpu-count": 0 }, /Invalid --qemu-cpu-count 0: expected a CPU count between 1 and 256/],
    [{ "qemu-memory": "lots" }, /Invalid --qemu-memory "lots"/],
    [{ "qemu-disk-size": 10 }, /Invalid --qemu-disk-size 10: expected a size in MB between 1024/],
    [{ "qemu-accel": "xen" }, /Invalid --qemu-accel "xen": expected auto, kvm, hvf or tcg/],
  ])("refuses %j with a usage error", (flags, message) => {
    let err: unknown;
    try {
      qemuSettingsFromFlags(flags, env());
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toMatch(message);
    expect((err as { exitCode?: number }).exitCode).toBe(2);
  });

  it("refuses hosts it has no machine type for", () => {
    expect(() => qemuSettingsFromFlags({}, env("ia32"))).toThrow("supports x64 and arm64 hosts, not ia32");
  });
});
