/**
 * Which accelerator QEMU can use here: KVM on Linux when /dev/kvm opens read-write, HVF on
 * macOS when the hypervisor framework is supported, TCG (software emulation, slow but
 * everywhere) otherwise. The reason is kept for `create`'s progress and `inspect`.
 */
import { accessSync, constants } from "node:fs";
import type { Exec } from "../../src/exec/exec.js";
import type { Accelerator } from "./command-line.js";

export interface AccelChoice {
  accel: Accelerator;
  reason: string;
}

export async function detectAccelerator(platform: NodeJS.Platform, exec: Exec): Promise<AccelChoice> {
  if (platform === "linux") {
    try {
      accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
      return { accel: "kvm", reason: "KVM hardware virtualization" };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return {
        accel: "tcg",
        reason: code === "ENOENT" ? "TCG software emulation (no /dev/kvm: slow)" : `TCG software emulation (/dev/kvm not usable: ${code}; add yourself to the kvm group)`,
      };
    }
  }
  if (platform === "darwin") {
    const r = await exec("sysctl", ["-n", "kern.hv_support"], { reject: false }).catch(() => undefined);
    if (r?.stdout.trim() === "1") return { accel: "hvf", reason: "Hypervisor.framework (HVF)" };
    return { accel: "tcg", reason: "TCG software emulation (Hypervisor.framework not supported: slow)" };
  }
  return { accel: "tcg", reason: "TCG software emulation (slow)" };
}

export function describeAccel(accel: Accelerator): string {
  return accel === "kvm" ? "KVM hardware virtualization" : accel === "hvf" ? "Hypervisor.framework (HVF)" : "TCG software emulation";
}
