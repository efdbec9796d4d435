/**
 * The qemu driver's start path against the QEMU stand-in (test/qemu-standin), which fails
 * as QEMU 7.2 fails on a nested AMD EPYC host with KVM and otherwise "runs" detached with a
 * pid file and a QMP socket (no guest: SSH never answers, so each start ends in an SSH
 * timeout after QEMU started, as a boot would be waited for). The host probe is fixed per
 * test, so this runs the same on machines with and without KVM.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { HostAccel } from "../../../drivers/qemu/accel.js";
import { QemuDriver } from "../../../drivers/qemu/driver.js";
import { qemuConfigSchema, qemuSettingsFromFlags, type QemuConfig } from "../../../drivers/qemu/settings.js";
import { realExec } from "../../../src/exec/exec.js";
import type { DriverHost, OpContext } from "../../../src/model/driver.js";
import type { TsmError } from "../../../src/model/errors.js";
import { freeLocalPorts } from "../../../src/vm/ports.js";

const probe = vi.hoisted(() => ({ host: { arch: "x86_64", kvm: "ok", kvmHardware: true } as HostAccel }));
vi.mock("../../../drivers/qemu/accel.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../../drivers/qemu/accel.js")>()),
  probeHost: async () => probe.host,
}));

const STANDIN = fileURLToPath(new URL("../../qemu-standin/qemu-system-x86_64", import.meta.url));
const root = mkdtempSync(path.join(os.tmpdir(), "tsm-qstart-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
let dir = "";
const drivers: QemuDriver[] = [];
beforeEach(() => {
  dir = path.join(root, "machines", `m${++n}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "disk.qcow2"), "");
  writeFileSync(path.join(dir, "seed.iso"), "");
});
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.kill(ctx().ctx);
  delete process.env.TSM_TEST_QEMU_STANDIN;
});

async function config(accel: string): Promise<QemuConfig> {
  const c = qemuSettingsFromFlags({ "qemu-binary": STANDIN, "qemu-accel": accel }, { arch: "x64", firmwareExists: () => false, defaultImageUrl: () => "https://x.test/i.qcow2" });
  const [sshPort, engineHostPort] = await freeLocalPorts(2);
  return { ...c, sshPort: sshPort!, engineHostPort: engineHostPort!, natMac: "52:54:00:00:00:01", sharedMac: "52:54:00:00:00:02", sharedGroup: "239.255.9.9:30999", sharedAddress: "192.168.127.9" };
}

function open(settings: Record<string, unknown>): QemuDriver {
  const host: DriverHost = {
    machineName: path.basename(dir),
    machineDir: dir,
    storeRoot: root,
    cacheDir: path.join(root, "cache"),
    leases: {
      lease: () => Promise.reject(new Error("start leases no address")),
      release: async () => undefined,
    },
    exec: realExec,
    env: { TSM_QEMU_BOOT_TIMEOUT: "0.2" },
    withRemote: () => Promise.reject(new Error("no SSH in this test")),
  };
  // As core does: the stored config goes through the schema.
  const d = new QemuDriver(qemuConfigSchema().parse(JSON.parse(JSON.stringify(settings))), host);
  drivers.push(d);
  return d;
}

function ctx() {
  const lines: string[] = [];
  const c: OpContext = { signal: new AbortController().signal, log: (l) => lines.push(l), debug: () => undefined };
  return { ctx: c, lines };
}

/** Starts; QEMU comes up, SSH never does: resolves with the error (SSH_TIMEOUT when QEMU ran). */
async function start(d: QemuDriver) {
  const c = ctx();
  const err = (await d.start(c.ctx).then(
    () => undefined,
    (e: unknown) => e,
  )) as TsmError | undefined;
  return { err, lines: c.lines, warnings: c.lines.filter((l) => l.startsWith("Warning:")) };
}

const tries = () => (existsSync(path.join(dir, "qemu-standin.log")) ? readFileSync(path.join(dir, "qemu-standin.log"), "utf8").trim().split("\n") : []);

describe("qemu start: accelerator tries against the QEMU stand-in", () => {
  it("--qemu-accel kvm: the MSR abort, then the masked model runs; recorded, shown, and the next start uses it directly", async () => {
    probe.host = { arch: "x86_64", kvm: "ok", kvmHardware: true };
    const d = open(await config("kvm"));
    const first = await start(d);
    expect(first.err?.code).toBe("SSH_TIMEOUT"); // QEMU started: the boot was waited for
    expect(tries()).toEqual(["kvm host", "kvm host,arch-capabilities=off"]);
    expect(first.warnings).toEqual([]);
    expect(d.config()).toMatchObject({ activeAccel: "kvm", cpuModel: "host,arch-capabilities=off", accelFallback: "" });
    expect(d.inspectView()).toMatchObject({ Accelerator: "kvm", CPUModel: "host,arch-capabilities=off" });
    expect(await d.getState(ctx().ctx)).toBe("Running");
    await d.kill(ctx().ctx);
    expect(await d.getState(ctx().ctx)).toBe("Stopped");

    const next = open(d.config());
    const second = await start(next);
    expect(second.err?.code).toBe("SSH_TIMEOUT");
    expect(tries()).toEqual(["kvm host", "kvm host,arch-capabilities=off", "kvm host,arch-capabilities=off"]);
    expect(second.lines[0]).toBe("Starting the VM with KVM hardware virtualization (CPU host,arch-capabilities=off)...");
  });

  it("auto where KVM cannot run the VM at all: KVM twice, then TCG with one warning; the next start goes to TCG at once", async () => {
    probe.host = { arch: "x86_64", kvm: "ok", kvmHardware: true };
    process.env.TSM_TEST_QEMU_STANDIN = "msr-always";
    const d = open(await config("auto"));
    const first = await start(d);
    expect(first.err?.code).toBe("SSH_TIMEOUT");
    expect(tries()).toEqual(["kvm host", "kvm host,arch-capabilities=off", "tcg max"]);
    expect(first.warnings).toHaveLength(1);
    expect(first.warnings[0]).toMatch(/^Warning: KVM cannot run this VM here \(QEMU: failed to set MSR 0x10a to 0x69\): using TCG .* much slower/);
    expect(d.config()).toMatchObject({ activeAccel: "tcg", cpuModel: "max", accelFallback: "KVM failed here: failed to set MSR 0x10a to 0x69" });
    expect(d.inspectView()).toMatchObject({ Accelerator: "tcg", CPUModel: "max" });
    await d.kill(ctx().ctx);

    const second = await start(open(d.config()));
    expect(second.err?.code).toBe("SSH_TIMEOUT");
    expect(tries()).toEqual(["kvm host", "kvm host,arch-capabilities=off", "tcg max", "tcg max"]);
    expect(second.warnings).toEqual([]);
  });

  it("--qemu-accel kvm where KVM cannot run it: QEMU_START naming QEMU's message, no TCG try, nothing left running", async () => {
    process.env.TSM_TEST_QEMU_STANDIN = "msr-always";
    const d = open(await config("kvm"));
    const r = await start(d);
    expect(r.err?.code).toBe("QEMU_START");
    expect(r.err?.message).toContain("with KVM: failed to set MSR 0x10a to 0x69");
    expect(r.err?.message).toContain("--qemu-accel tcg");
    expect(tries()).toEqual(["kvm host", "kvm host,arch-capabilities=off"]);
    expect(r.warnings).toEqual([]);
    // The pid file names the aborted process: not a running VM.
    expect(existsSync(path.join(dir, "qemu.pid"))).toBe(true);
    expect(await d.getState(ctx().ctx)).toBe("Stopped");
    expect(d.config()).toMatchObject({ activeAccel: "", cpuModel: "" });
  });

  it("a QEMU that exits 0 but is gone at once (a death after detaching) counts as KVM failing: auto falls back", async () => {
    process.env.TSM_TEST_QEMU_STANDIN = "die";
    const d = open(await config("auto"));
    const r = await start(d);
    expect(r.err?.code).toBe("SSH_TIMEOUT");
    expect(tries()).toEqual(["kvm host", "tcg max"]);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain("QEMU exited right after it started");
    expect(d.config()).toMatchObject({ activeAccel: "tcg" });
  });

  it("auto without a usable /dev/kvm, or with a software KVM: TCG only (a warning only for the software KVM)", async () => {
    probe.host = { arch: "x86_64", kvm: "ENOENT" };
    const a = await start(open(await config("auto")));
    expect(a.err?.code).toBe("SSH_TIMEOUT");
    expect(tries()).toEqual(["tcg max"]);
    expect(a.warnings).toEqual([]);
    expect(a.lines[0]).toBe("Starting the VM with TCG software emulation (no /dev/kvm: slow)...");
    for (const d of drivers.splice(0)) await d.kill(ctx().ctx);

    probe.host = { arch: "x86_64", kvm: "ok", kvmHardware: false, kvmModule: "kvm_pvm" };
    dir = path.join(root, "machines", `m${++n}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "disk.qcow2"), "");
    writeFileSync(path.join(dir, "seed.iso"), "");
    const b = await start(open(await config("auto")));
    expect(tries()).toEqual(["tcg max"]);
    expect(b.warnings).toHaveLength(1);
    expect(b.warnings[0]).toContain("not hardware-backed");
  });
});
