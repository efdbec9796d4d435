/**
 * The accelerator plan (the ordered attempts of a start) and the reading of QEMU's
 * failures, as pure functions: every host kind without needing one.
 */
import { describe, expect, it } from "vitest";
import { accelPlan, classifyQemuFailure, cpuHasVirtualization, qemuMessage, type HostAccel, type RecordedAccel } from "../../../drivers/qemu/accel.js";

/** QEMU 7.2's stderr with -cpu host on a nested AMD EPYC guest (measured). */
export const MSR_ABORT =
  "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nqemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n";

const none: RecordedAccel = { activeAccel: "", cpuModel: "", accelFallback: "" };
const kvmHost: HostAccel = { arch: "x86_64", kvm: "ok", kvmHardware: true };
const order = (p: ReturnType<typeof accelPlan>) => [...p.attempts, ...(p.fallback ? [p.fallback] : [])].map((a) => `${a.accel} ${a.cpuModel}`);

describe("accelPlan", () => {
  it("auto on a hardware KVM host: the host CPU, then with arch-capabilities masked, then TCG as the fallback", () => {
    const p = accelPlan("auto", kvmHost, none);
    expect(order(p)).toEqual(["kvm host", "kvm host,arch-capabilities=off", "tcg max"]);
    expect(p.attempts.map((a) => a.accel)).toEqual(["kvm", "kvm"]);
    expect(p.fallback?.accel).toBe("tcg");
    expect(p.attempts[0]!.what).toBe("KVM hardware virtualization");
  });

  it("auto without /dev/kvm, or with one that does not open: TCG directly, saying why", () => {
    const absent = accelPlan("auto", { arch: "x86_64", kvm: "ENOENT" }, none);
    expect(order(absent)).toEqual(["tcg max"]);
    expect(absent.fallback).toBeUndefined();
    expect(absent.attempts[0]!.what).toBe("TCG software emulation (no /dev/kvm: slow)");
    const denied = accelPlan("auto", { arch: "x86_64", kvm: "EACCES" }, none);
    expect(denied.attempts[0]!.what).toContain("EACCES; add yourself to the kvm group");
  });

  it("auto with a software KVM (no vmx/svm, kvm_pvm): no KVM try, TCG with the reason for the one warning", () => {
    const p = accelPlan("auto", { arch: "x86_64", kvm: "ok", kvmHardware: false, kvmModule: "kvm_pvm" }, none);
    expect(p.attempts).toEqual([]);
    expect(order(p)).toEqual(["tcg max"]);
    expect(p.fallbackReason).toBe("/dev/kvm here is not hardware-backed (no vmx or svm in /proc/cpuinfo; kvm_pvm is loaded): an unmodified guest barely runs under it");
  });

  it("a recorded KVM choice is tried first, the rest of the plan stays behind it", () => {
    const p = accelPlan("auto", kvmHost, { activeAccel: "kvm", cpuModel: "host,arch-capabilities=off", accelFallback: "" });
    expect(order(p)).toEqual(["kvm host,arch-capabilities=off", "kvm host", "tcg max"]);
    expect(p.attempts[0]!.what).toBe("KVM hardware virtualization (CPU host,arch-capabilities=off)");
  });

  it("a recorded fallback to TCG is kept: no repeated failing tries", () => {
    const p = accelPlan("auto", kvmHost, { activeAccel: "tcg", cpuModel: "max", accelFallback: "KVM failed here: failed to set MSR 0x10a to 0x69" });
    expect(order(p)).toEqual(["tcg max"]);
    expect(p.fallback).toBeUndefined();
    expect(p.attempts[0]!.what).toBe("TCG software emulation (slow; KVM failed here: failed to set MSR 0x10a to 0x69)");
  });

  it("a recorded TCG choice made only because KVM was absent is not kept: KVM that appeared later is used", () => {
    expect(order(accelPlan("auto", kvmHost, { activeAccel: "tcg", cpuModel: "max", accelFallback: "" }))).toEqual(["kvm host", "kvm host,arch-capabilities=off", "tcg max"]);
  });

  it("--qemu-accel kvm tries both CPU models and never falls back, whatever the host", () => {
    for (const host of [kvmHost, { arch: "x86_64", kvm: "ENOENT" } as HostAccel, { arch: "x86_64" } as HostAccel]) {
      const p = accelPlan("kvm", host, none);
      expect(order(p)).toEqual(["kvm host", "kvm host,arch-capabilities=off"]);
      expect(p.fallback).toBeUndefined();
      expect(p.notice).toBeUndefined();
    }
    expect(order(accelPlan("kvm", kvmHost, { activeAccel: "kvm", cpuModel: "host,arch-capabilities=off", accelFallback: "" }))).toEqual([
      "kvm host,arch-capabilities=off",
      "kvm host",
    ]);
    // On a software KVM it still tries (the user asked), with a note.
    const soft = accelPlan("kvm", { arch: "x86_64", kvm: "ok", kvmHardware: false }, none);
    expect(order(soft)).toEqual(["kvm host", "kvm host,arch-capabilities=off"]);
    expect(soft.notice).toContain("not hardware-backed");
    expect(soft.notice).toContain("--qemu-accel tcg is faster here");
  });

  it("aarch64 has no x86 feature to mask; tcg and hvf are single attempts; auto on macOS prefers HVF", () => {
    expect(order(accelPlan("kvm", { arch: "aarch64", kvm: "ok" }, none))).toEqual(["kvm host"]);
    expect(order(accelPlan("auto", { arch: "aarch64", kvm: "ok" }, none))).toEqual(["kvm host", "tcg max"]);
    expect(order(accelPlan("tcg", kvmHost, none))).toEqual(["tcg max"]);
    expect(order(accelPlan("hvf", { arch: "aarch64" }, none))).toEqual(["hvf host"]);
    expect(order(accelPlan("auto", { arch: "aarch64", hvf: true }, none))).toEqual(["hvf host", "tcg max"]);
    expect(order(accelPlan("auto", { arch: "aarch64", hvf: false }, none))).toEqual(["tcg max"]);
  });
});

describe("classifyQemuFailure and qemuMessage", () => {
  it("reads the MSR abort as a CPU-feature failure, its first line as the message", () => {
    expect(classifyQemuFailure(MSR_ABORT)).toBe("cpu-feature");
    expect(qemuMessage(MSR_ABORT)).toBe("failed to set MSR 0x10a to 0x69");
  });

  it.each([
    "Could not access KVM kernel module: No such file or directory\nqemu-system-x86_64: -accel kvm: failed to initialize kvm: No such file or directory",
    "qemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied",
    "qemu-system-x86_64: invalid accelerator kvm",
    "qemu-system-x86_64: kvm_init_vcpu: kvm_arch_init_vcpu failed (0): Invalid argument",
    "QEMU exited right after it started (detached, so its own message is lost)",
  ])("an accelerator failure: %s", (stderr) => {
    expect(classifyQemuFailure(stderr)).toBe("accel");
  });

  it.each([
    "qemu-system-x86_64: -netdev user,id=nat0: Could not set up host forwarding rule 'tcp:127.0.0.1:40022-:22'",
    "qemu-system-x86_64: -drive if=none,id=disk0,file=/home/kvm/disk.qcow2: Could not open '/home/kvm/disk.qcow2': Permission denied",
    'qemu-system-x86_64: -drive if=none,id=disk0: Failed to get "write" lock',
  ])("anything else is the machine's own error: %s", (stderr) => {
    expect(classifyQemuFailure(stderr)).toBe("other");
  });

  it("skips warnings and program names", () => {
    expect(qemuMessage("qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.80000001H:ECX.svm [bit 2]\nqemu-system-x86_64: -m 99999999: cannot set up guest memory 'pc.ram': Cannot allocate memory\n")).toBe(
      "-m 99999999: cannot set up guest memory 'pc.ram': Cannot allocate memory",
    );
    expect(qemuMessage("")).toBe("");
  });
});

describe("cpuHasVirtualization", () => {
  it("is true for vmx or svm, false for a guest CPU without them, true when cpuinfo has no flags", () => {
    expect(cpuHasVirtualization("processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae svm lahf_lm\n")).toBe(true);
    expect(cpuHasVirtualization("flags\t\t: fpu vmx\n")).toBe(true);
    // This project's nested AMD EPYC machines: `hypervisor`, neither svm nor vmx.
    expect(cpuHasVirtualization("flags\t\t: fpu vme de pse tsc msr hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a vmmcall\n")).toBe(false);
    expect(cpuHasVirtualization("")).toBe(true);
  });
});
