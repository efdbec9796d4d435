/**
 * Which accelerator and CPU model QEMU starts a machine with, chosen by trying:
 *
 * - `probeHost` measures what the host offers: /dev/kvm opening read-write, whether that
 *   KVM is backed by hardware virtualization (x86: `vmx` or `svm` in /proc/cpuinfo), HVF.
 * - `accelPlan` (pure) turns the requested accelerator, that probe and the machine's
 *   recorded choice into the ordered attempts, e.g. for `auto` on a KVM host:
 *   `kvm/host`, `kvm/host,arch-capabilities=off`, then `tcg/max` as the fallback.
 * - `classifyQemuFailure` (pure) reads QEMU's message: a CPU-feature error moves on to the
 *   next CPU model, an accelerator error to the fallback, anything else (a busy port, a bad
 *   disk) is the machine's error and ends the tries. start-attempts.ts runs the loop.
 *
 * Measured facts behind it (QEMU 7.2, Debian 12):
 * - On nested AMD EPYC guests QEMU aborts with `-cpu host` (also `host,pmu=off`, `max`):
 *   "error: failed to set MSR 0x10a to 0x69" then "kvm_buf_set_msrs: Assertion ...". The
 *   abort comes while the VM is set up, before `-daemonize` lets the parent exit, so the
 *   parent exits non-zero with both lines on its stderr. MSR 0x10a is IA32_ARCH_CAPABILITIES;
 *   `host,arch-capabilities=off` starts.
 * - A /dev/kvm without `vmx`/`svm` in /proc/cpuinfo is a software KVM (such hosts load
 *   `kvm_pvm`): QEMU starts under it, but an unmodified guest crawls (a Debian cloud image
 *   had not left its boot loader after 20 minutes, where TCG reaches the login prompt in
 *   90 s). `auto` therefore does not choose it; `--qemu-accel kvm` still may.
 */
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import type { Exec } from "../../src/exec/exec.js";
import type { Accelerator } from "./command-line.js";

export type RequestedAccel = "auto" | Accelerator;

/** What the host offers, as measured by probeHost (tests build it by hand). */
export interface HostAccel {
  arch: "x86_64" | "aarch64";
  /** Linux: /dev/kvm opens read-write ("ok") or why not (an errno code, e.g. ENOENT, EACCES). */
  kvm?: "ok" | string;
  /** x86 Linux: whether the CPU shows hardware virtualization (vmx/svm); false means a software KVM. */
  kvmHardware?: boolean;
  /** The name of a software KVM module found loaded (e.g. "kvm_pvm"), for messages. */
  kvmModule?: string;
  /** macOS: Hypervisor.framework is supported. */
  hvf?: boolean;
}

/** The choice a machine's last successful start recorded (its stored driver config). */
export interface RecordedAccel {
  activeAccel: "" | Accelerator;
  cpuModel: string;
  /** Why that start fell back to TCG although an accelerator was there ("" when it did not). */
  accelFallback: string;
}

export interface AccelAttempt {
  accel: Accelerator;
  cpuModel: string;
  /** For the progress line "Starting the VM with <what>...". */
  what: string;
}

export interface AccelPlan {
  attempts: AccelAttempt[];
  /** Tried when every attempt failed with an accelerator error (auto only): TCG. */
  fallback?: AccelAttempt;
  /** Set when the plan itself falls back (the accelerator is there but not worth trying): the one warning line's reason. */
  fallbackReason?: string;
  /** A note for the progress output (explicit kvm on a software KVM). */
  notice?: string;
}

export const MASKED_HOST_CPU = "host,arch-capabilities=off";

const KVM_WHAT = "KVM hardware virtualization";
const TCG_WHAT = "TCG software emulation (slow)";
const tcg = (what = TCG_WHAT): AccelAttempt => ({ accel: "tcg", cpuModel: "max", what });

function kvmAttempts(arch: HostAccel["arch"]): AccelAttempt[] {
  const host: AccelAttempt = { accel: "kvm", cpuModel: "host", what: KVM_WHAT };
  // The masked model names an x86 feature; aarch64 has no such MSR to mask.
  return arch === "x86_64" ? [host, { accel: "kvm", cpuModel: MASKED_HOST_CPU, what: `${KVM_WHAT} (CPU ${MASKED_HOST_CPU})` }] : [host];
}

function softwareKvm(host: HostAccel): string {
  return `/dev/kvm here is not hardware-backed (no vmx or svm in /proc/cpuinfo${host.kvmModule ? `; ${host.kvmModule} is loaded` : ""}): an unmodified guest barely runs under it`;
}

function kvmUnusable(code: string): string {
  return code === "ENOENT" ? "no /dev/kvm" : `/dev/kvm is not usable (${code}; add yourself to the kvm group)`;
}

/** The ordered attempts for a start. `recorded` is the machine's last choice ("" before the first start). */
export function accelPlan(requested: RequestedAccel, host: HostAccel, recorded: RecordedAccel): AccelPlan {
  if (requested === "tcg") return { attempts: [tcg()] };
  if (requested === "hvf") return { attempts: [{ accel: "hvf", cpuModel: "host", what: "Hypervisor.framework (HVF)" }] };
  if (requested === "kvm") {
    const fresh = kvmAttempts(host.arch);
    const plan: AccelPlan = { attempts: recorded.activeAccel === "kvm" && recorded.cpuModel ? withFirst(fresh, { accel: "kvm", cpuModel: recorded.cpuModel, what: describeChoice("kvm", recorded.cpuModel) }) : fresh };
    if (host.kvm === "ok" && host.kvmHardware === false) plan.notice = `Note: ${softwareKvm(host)}; the VM may take very long to boot (--qemu-accel tcg is faster here)`;
    return plan;
  }
  // auto
  if (recorded.activeAccel === "tcg" && recorded.accelFallback) {
    // An earlier start found the accelerator unusable: no repeated failing tries.
    return { attempts: [tcg(`TCG software emulation (slow; ${recorded.accelFallback})`)] };
  }
  if (host.hvf) {
    const hvf: AccelAttempt = { accel: "hvf", cpuModel: "host", what: "Hypervisor.framework (HVF)" };
    return { attempts: [hvf], fallback: tcg() };
  }
  if (host.kvm === undefined) return { attempts: [tcg()] };
  if (host.kvm !== "ok") return { attempts: [tcg(`TCG software emulation (${kvmUnusable(host.kvm)}: slow)`)] };
  if (host.kvmHardware === false) return { attempts: [], fallback: tcg(), fallbackReason: softwareKvm(host) };
  const fresh = kvmAttempts(host.arch);
  const attempts = recorded.activeAccel === "kvm" && recorded.cpuModel ? withFirst(fresh, { accel: "kvm", cpuModel: recorded.cpuModel, what: describeChoice("kvm", recorded.cpuModel) }) : fresh;
  return { attempts, fallback: tcg() };
}

function withFirst(list: AccelAttempt[], first: AccelAttempt): AccelAttempt[] {
  return [first, ...list.filter((a) => a.accel !== first.accel || a.cpuModel !== first.cpuModel)];
}

export type FailureKind = "cpu-feature" | "accel" | "other";

/**
 * What a failed start says about the accelerator. QEMU's messages, one per line:
 * - cpu-feature: the vCPU could not take a feature of the host CPU model (KVM's MSR writes).
 * - accel: the accelerator itself is missing or refuses (no module, no permission, no vCPU).
 * - other: everything else, the same under any accelerator.
 */
export function classifyQemuFailure(message: string): FailureKind {
  if (/failed to set MSR 0x[0-9a-f]+|kvm_buf_set_msrs|kvm_put_msrs|kvm_arch_put_registers/i.test(message)) return "cpu-feature";
  if (
    /Could not access KVM kernel module|failed to initialize (kvm|hvf)|invalid accelerator|no accelerator found|kvm_init_vcpu|kvm_arch_init_vcpu|KVM_[A-Z_]+ failed|KVM is not supported|requires KVM|(^|\n)(qemu-system-[a-z0-9_]+: )?(error: )?kvm: |HV_[A-Z_]+|Hypervisor\.framework|exited right after it started/i.test(
      message,
    )
  ) {
    return "accel";
  }
  return "other";
}

/** QEMU's message: its first line that is not a warning, without the program name and "error: " prefixes (the cause; an assertion follows it). */
export function qemuMessage(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.replace(/^qemu-system-[a-z0-9_]+: /, "").replace(/^error: /i, "").trim())
    .filter((l) => l !== "" && !/^warning: /i.test(l));
  return lines[0] ?? "";
}

export function describeChoice(accel: Accelerator, cpuModel: string): string {
  if (accel === "tcg") return TCG_WHAT;
  if (accel === "hvf") return "Hypervisor.framework (HVF)";
  return cpuModel === "host" || cpuModel === "" ? KVM_WHAT : `${KVM_WHAT} (CPU ${cpuModel})`;
}

/** Measures what this host offers; cheap (an access check, one file read). */
export async function probeHost(platform: NodeJS.Platform, arch: HostAccel["arch"], exec: Exec): Promise<HostAccel> {
  if (platform === "linux") {
    let kvm: string;
    try {
      accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
      kvm = "ok";
    } catch (e) {
      kvm = (e as NodeJS.ErrnoException).code ?? "unknown error";
    }
    const host: HostAccel = { arch, kvm };
    if (kvm === "ok" && arch === "x86_64") {
      host.kvmHardware = cpuHasVirtualization(readCpuinfo());
      if (!host.kvmHardware) {
        const module = ["kvm_pvm"].find((m) => existsSync(`/sys/module/${m}`));
        if (module) host.kvmModule = module;
      }
    }
    return host;
  }
  if (platform === "darwin") {
    const r = await exec("sysctl", ["-n", "kern.hv_support"], { reject: false }).catch(() => undefined);
    return { arch, hvf: r?.stdout.trim() === "1" };
  }
  return { arch };
}

function readCpuinfo(): string {
  try {
    return readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return "";
  }
}

/** true when a `flags` line names vmx or svm, or when /proc/cpuinfo shows no flags at all (unknown: assume hardware). */
export function cpuHasVirtualization(cpuinfo: string): boolean {
  const flags = cpuinfo.split("\n").filter((l) => /^flags\s*:/.test(l));
  if (flags.length === 0) return true;
  return flags.some((l) => /\s(vmx|svm)(\s|$)/.test(l));
}
