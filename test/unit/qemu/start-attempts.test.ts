/**
 * The tries of one start (runAttempts) against a table of QEMU outcomes: the order, the
 * single warning, what is recorded, and that explicit KVM never falls back.
 */
import { describe, expect, it } from "vitest";
import { accelPlan, type AccelAttempt, type HostAccel, type RecordedAccel } from "../../../drivers/qemu/accel.js";
import { runAttempts, type LaunchResult } from "../../../drivers/qemu/start-attempts.js";
import { TsmError } from "../../../src/model/errors.js";

const MSR_ABORT =
  "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nqemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.";
const NO_KVM_MODULE = "Could not access KVM kernel module: No such file or directory\nqemu-system-x86_64: -accel kvm: failed to initialize kvm: No such file or directory";
const PORT_BUSY = "qemu-system-x86_64: -netdev user,id=nat0,hostfwd=tcp:127.0.0.1:40022-:22: Could not set up host forwarding rule 'tcp:127.0.0.1:40022-:22'";

const none: RecordedAccel = { activeAccel: "", cpuModel: "", accelFallback: "" };
const kvmHost: HostAccel = { arch: "x86_64", kvm: "ok", kvmHardware: true };

/** A launch that answers from a table keyed "accel cpu" (missing: starts), and remembers the order. */
function table(outcomes: Record<string, string>) {
  const tried: string[] = [];
  const lines: string[] = [];
  return {
    tried,
    lines,
    hooks: {
      machineName: "dev",
      log: (l: string) => lines.push(l),
      debug: () => undefined,
      async launch(a: AccelAttempt): Promise<LaunchResult> {
        const key = `${a.accel} ${a.cpuModel}`;
        tried.push(key);
        const stderr = outcomes[key];
        return stderr === undefined ? { ok: true } : { ok: false, stderr };
      },
    },
  };
}
const warnings = (lines: string[]) => lines.filter((l) => l.startsWith("Warning:"));

describe("runAttempts", () => {
  it("retries with arch-capabilities masked after the MSR abort, and records that model; no warning", async () => {
    const t = table({ "kvm host": MSR_ABORT });
    const out = await runAttempts(accelPlan("auto", kvmHost, none), t.hooks);
    expect(t.tried).toEqual(["kvm host", "kvm host,arch-capabilities=off"]);
    expect(out.chosen).toMatchObject({ accel: "kvm", cpuModel: "host,arch-capabilities=off" });
    expect(out.accelFallback).toBe("");
    expect(t.lines).toEqual([
      "Starting the VM with KVM hardware virtualization...",
      "KVM refused CPU model host (failed to set MSR 0x10a to 0x69): starting with CPU host,arch-capabilities=off...",
    ]);
  });

  it("falls back to TCG when KVM still cannot run it, with exactly one warning saying why and that it is slow", async () => {
    const t = table({ "kvm host": MSR_ABORT, "kvm host,arch-capabilities=off": MSR_ABORT });
    const out = await runAttempts(accelPlan("auto", kvmHost, none), t.hooks);
    expect(t.tried).toEqual(["kvm host", "kvm host,arch-capabilities=off", "tcg max"]);
    expect(out.chosen).toMatchObject({ accel: "tcg", cpuModel: "max" });
    expect(out.accelFallback).toBe("KVM failed here: failed to set MSR 0x10a to 0x69");
    expect(warnings(t.lines)).toEqual([
      "Warning: KVM cannot run this VM here (QEMU: failed to set MSR 0x10a to 0x69): using TCG software emulation instead, which is much slower (boots take minutes)",
    ]);
    expect(t.lines.at(-1)).toBe("Starting the VM with TCG software emulation (slow)...");
  });

  it("an accelerator failure skips the other CPU model: straight to TCG", async () => {
    const t = table({ "kvm host": NO_KVM_MODULE });
    const out = await runAttempts(accelPlan("auto", kvmHost, none), t.hooks);
    expect(t.tried).toEqual(["kvm host", "tcg max"]);
    expect(out.chosen.accel).toBe("tcg");
    expect(warnings(t.lines)).toHaveLength(1);
    expect(warnings(t.lines)[0]).toContain("Could not access KVM kernel module: No such file or directory");
  });

  it("a software KVM gets no try: one warning with the reason, then TCG", async () => {
    const t = table({});
    const out = await runAttempts(accelPlan("auto", { arch: "x86_64", kvm: "ok", kvmHardware: false, kvmModule: "kvm_pvm" }, none), t.hooks);
    expect(t.tried).toEqual(["tcg max"]);
    expect(warnings(t.lines)).toEqual([
      "Warning: /dev/kvm here is not hardware-backed (no vmx or svm in /proc/cpuinfo; kvm_pvm is loaded): an unmodified guest barely runs under it: using TCG software emulation instead, which is much slower (boots take minutes)",
    ]);
    expect(out.accelFallback).toContain("not hardware-backed");
  });

  it("--qemu-accel kvm never falls back: a QEMU_START error naming QEMU's message and suggesting --qemu-accel tcg", async () => {
    const t = table({ "kvm host": MSR_ABORT, "kvm host,arch-capabilities=off": MSR_ABORT });
    const err = await runAttempts(accelPlan("kvm", kvmHost, none), t.hooks).catch((e: unknown) => e);
    expect(t.tried).toEqual(["kvm host", "kvm host,arch-capabilities=off"]);
    expect(err).toBeInstanceOf(TsmError);
    expect((err as TsmError).code).toBe("QEMU_START");
    expect((err as TsmError).message).toBe(
      'QEMU could not start "dev" with KVM: failed to set MSR 0x10a to 0x69. --qemu-accel kvm does not fall back: create the machine with --qemu-accel tcg (software emulation, slow) or --qemu-accel auto',
    );
    expect(warnings(t.lines)).toEqual([]);
    const noModule = table({ "kvm host": NO_KVM_MODULE });
    const err2 = (await runAttempts(accelPlan("kvm", kvmHost, none), noModule.hooks).catch((e: unknown) => e)) as TsmError;
    expect(noModule.tried).toEqual(["kvm host"]);
    expect(err2.message).toContain("Could not access KVM kernel module");
    expect(err2.message).toContain("--qemu-accel tcg");
  });

  it("any other failure is the machine's error at once: no other tries, no warning", async () => {
    const t = table({ "kvm host": PORT_BUSY });
    const err = (await runAttempts(accelPlan("auto", kvmHost, none), t.hooks).catch((e: unknown) => e)) as TsmError;
    expect(t.tried).toEqual(["kvm host"]);
    expect(err.code).toBe("QEMU_START");
    expect(err.message).toBe(`QEMU could not start "dev": -netdev user,id=nat0,hostfwd=tcp:127.0.0.1:40022-:22: Could not set up host forwarding rule 'tcp:127.0.0.1:40022-:22'`);
    expect(warnings(t.lines)).toEqual([]);
  });

  it("a second start with the recorded choice launches once", async () => {
    const first = table({ "kvm host": MSR_ABORT });
    const out = await runAttempts(accelPlan("auto", kvmHost, none), first.hooks);
    const second = table({ "kvm host": MSR_ABORT });
    await runAttempts(accelPlan("auto", kvmHost, { activeAccel: out.chosen.accel, cpuModel: out.chosen.cpuModel, accelFallback: out.accelFallback }), second.hooks);
    expect(second.tried).toEqual(["kvm host,arch-capabilities=off"]);

    const fellBack = table({ "kvm host": MSR_ABORT, "kvm host,arch-capabilities=off": MSR_ABORT });
    const out2 = await runAttempts(accelPlan("auto", kvmHost, none), fellBack.hooks);
    const again = table({ "kvm host": MSR_ABORT, "kvm host,arch-capabilities=off": MSR_ABORT });
    await runAttempts(accelPlan("auto", kvmHost, { activeAccel: out2.chosen.accel, cpuModel: out2.chosen.cpuModel, accelFallback: out2.accelFallback }), again.hooks);
    expect(again.tried).toEqual(["tcg max"]);
    expect(warnings(again.lines)).toEqual([]);
  });
});
