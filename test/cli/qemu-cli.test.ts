/**
 * create -d qemu's checks and its failure path, without booting anything: bad flags and
 * a missing QEMU refuse before a record exists; a QEMU that cannot start (a failing
 * stand-in binary beside the real qemu-img) leaves a record that reports its real state,
 * refuses what it cannot do with clear errors, and is removed completely by `rm -f`.
 * The real boots are in test/e2e/qemu.test.ts.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { which } from "../bed/prereqs.js";
import { describeWithPrereqs } from "../helpers/prereq.js";
import { ROOT, runTsm, tempDir } from "../helpers/cli.js";
import { probeHost } from "../../drivers/qemu/accel.js";
import { realExec } from "../../src/exec/exec.js";

let store: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir: store, cleanup } = await tempDir()));
afterAll(() => cleanup());

const machines = async () => readdir(path.join(store, "machines")).catch(() => [] as string[]);

describe("create -d qemu checks before anything is written", () => {
  it("lists the driver's flags", async () => {
    const r = await runTsm(store, ["create", "-d", "qemu", "--help"]);
    expect(r.exitCode).toBe(0);
    for (const flag of ["--qemu-cpu-count", "--qemu-memory", "--qemu-disk-size", "--qemu-image-url", "--qemu-binary", "--qemu-accel"]) expect(r.stdout).toContain(flag);
    expect(r.stdout).toContain("QEMU_IMAGE_URL");
  });

  it.each([
    [["--qemu-memory", "12"], 2, /Invalid --qemu-memory 12/],
    [["--qemu-accel", "xen"], 2, /Invalid --qemu-accel "xen"/],
    [["--qemu-image-url", "ftp://example.test/x.qcow2"], 1, /./],
    [["--qemu-binary", "/nonexistent/qemu-system-x86_64"], 3, /QEMU was not found \(\/nonexistent\/qemu-system-x86_64\): install it/],
  ])("%j -> exit %i", async (flags, code, message) => {
    const r = await runTsm(store, ["create", "-d", "qemu", ...flags, "q1"]);
    if (code === 1) {
      // An unusable image source is only known once the driver runs: the record is kept and removable.
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/ftp:/);
      expect((await runTsm(store, ["rm", "-f", "q1"])).exitCode).toBe(0);
      return;
    }
    expect(r.exitCode).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(await machines()).not.toContain("q1");
  });

  it("takes flags from QEMU_* variables", async () => {
    const r = await runTsm(store, ["create", "-d", "qemu", "q2"], { env: { QEMU_MEMORY: "nope" } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('Invalid QEMU_MEMORY "nope"');
  });
});

describeWithPrereqs("a qemu machine whose QEMU cannot start", which("qemu-img") ? [] : ["qemu-img (apt-get install qemu-utils)"], () => {
  let bin = "";
  beforeAll(async () => {
    bin = path.join(store, "fakebin");
    await mkdir(bin, { recursive: true });
    const fake = path.join(bin, "qemu-system-x86_64");
    await writeFile(fake, "#!/bin/sh\necho 'qemu-system-x86_64: -netdev user,id=nat0: Could not set up host forwarding rule' >&2\nexit 1\n");
    await chmod(fake, 0o755);
    await symlink(which("qemu-img")!, path.join(bin, "qemu-img"));
    await writeFile(path.join(store, "tiny.raw"), Buffer.alloc(2 * 1024 * 1024));
  });

  it("fails create with QEMU's own reason and keeps a removable record", async () => {
    const r = await runTsm(store, ["create", "-d", "qemu", "--qemu-binary", path.join(bin, "qemu-system-x86_64"), "--qemu-image-url", path.join(store, "tiny.raw"), "--qemu-disk-size", "1024", "broken"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('QEMU could not start "broken": -netdev user,id=nat0: Could not set up host forwarding rule');
    expect(r.stderr).toContain('"tsm rm -f broken"');
    const dir = path.join(store, "machines", "broken");
    for (const f of ["disk.qcow2", "seed.iso", "id_ed25519", "config.json"]) expect(existsSync(path.join(dir, f))).toBe(true);
  });

  it("reports Stopped from the missing process, and refuses url and logs clearly", async () => {
    expect((await runTsm(store, ["status", "broken"])).stdout).toBe("Stopped\n");
    const url = await runTsm(store, ["url", "broken"]);
    expect(url.exitCode).toBe(7);
    expect(url.stderr).toContain('Machine "broken" is not running: start it with "tsm start broken"');
    const logs = await runTsm(store, ["logs", "broken"]);
    expect(logs.exitCode).toBe(7);
    expect(logs.stderr).toContain('"broken" has no console log yet');
    const ls = await runTsm(store, ["ls", "--format", "{{.Name}} {{.DriverName}} {{.State}}"]);
    expect(ls.stdout).toContain("broken qemu Stopped\n");
  });

  it("start says why QEMU failed; kill and stop have nothing to do", async () => {
    const start = await runTsm(store, ["start", "broken"]);
    expect(start.exitCode).toBe(1);
    expect(start.stderr).toContain("Could not set up host forwarding rule");
    expect((await runTsm(store, ["stop", "broken"])).stderr).toContain("already stopped");
    expect((await runTsm(store, ["kill", "broken"])).exitCode).toBe(0);
  });

  it("rm removes the disk, seed, keys, record and address lease", async () => {
    const r = await runTsm(store, ["rm", "-y", "broken"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(path.join(store, "machines", "broken"))).toBe(false);
    expect(await readdir(path.join(store, "cache", "qemu-network"))).toEqual([]);
  });
});

/**
 * The accelerator tries through the built tsm, with the QEMU stand-in (test/qemu-standin:
 * QEMU 7.2's MSR abort under KVM with `-cpu host`, a detached "VM" otherwise, no guest, so
 * each create or start ends waiting for SSH). `--qemu-accel kvm` runs the same everywhere;
 * `auto` depends on this machine's /dev/kvm, so its assertions hold on any machine.
 */
describeWithPrereqs("qemu accelerator tries with the QEMU stand-in", which("qemu-img") ? [] : ["qemu-img (apt-get install qemu-utils)"], () => {
  let bin = "";
  const image = () => path.join(store, "tiny-standin.raw");
  const tries = (name: string) => readFile(path.join(store, "machines", name, "qemu-standin.log"), "utf8").then((t) => t.trim().split("\n"));
  const warnings = (stderr: string) => stderr.split("\n").filter((l) => /^(\([^)]*\) )?Warning:/.test(l));
  const env = (mode?: string) => ({ TSM_QEMU_BOOT_TIMEOUT: "0.2", ...(mode ? { TSM_TEST_QEMU_STANDIN: mode } : {}) });
  const create = (name: string, accel: string, mode?: string) =>
    runTsm(store, ["create", "-d", "qemu", "--qemu-binary", path.join(bin, "qemu-system-x86_64"), "--qemu-accel", accel, "--qemu-image-url", image(), "--qemu-disk-size", "1024", name], { env: env(mode) });

  beforeAll(async () => {
    bin = path.join(store, "standinbin");
    await mkdir(bin, { recursive: true });
    await symlink(path.join(ROOT, "test", "qemu-standin", "qemu-system-x86_64"), path.join(bin, "qemu-system-x86_64"));
    await symlink(which("qemu-img")!, path.join(bin, "qemu-img"));
    await writeFile(image(), Buffer.alloc(2 * 1024 * 1024));
  });
  afterAll(async () => {
    for (const name of ["kv", "kx", "ka"]) await runTsm(store, ["rm", "-f", name]);
  });

  it("--qemu-accel kvm: after the MSR abort it starts with arch-capabilities masked, records and shows that", async () => {
    const r = await create("kv", "kvm");
    expect(r.stderr).toContain("Starting the VM with KVM hardware virtualization...");
    expect(r.stderr).toContain("KVM refused CPU model host (failed to set MSR 0x10a to 0x69): starting with CPU host,arch-capabilities=off...");
    expect(r.stderr).toContain("did not answer on SSH"); // QEMU ran: the boot was waited for
    expect(warnings(r.stderr)).toEqual([]);
    expect(await tries("kv")).toEqual(["kvm host", "kvm host,arch-capabilities=off"]);
    const shown = await runTsm(store, ["inspect", "-f", "{{.Driver.Accelerator}} {{.Driver.CPUModel}}", "kv"]);
    expect(shown.stdout).toBe("kvm host,arch-capabilities=off\n");
    expect((await runTsm(store, ["status", "kv"])).stdout).toBe("Running\n");
  });

  it("the next start uses the recorded choice: one launch, no failing try", async () => {
    expect((await runTsm(store, ["kill", "kv"])).exitCode).toBe(0);
    const r = await runTsm(store, ["start", "kv"], { env: env() });
    expect(r.stderr).toContain("Starting the VM with KVM hardware virtualization (CPU host,arch-capabilities=off)...");
    expect(r.stderr).not.toContain("refused");
    expect(await tries("kv")).toEqual(["kvm host", "kvm host,arch-capabilities=off", "kvm host,arch-capabilities=off"]);
  });

  it("--qemu-accel kvm where KVM cannot run the VM: a clear error, no fallback to TCG", async () => {
    const r = await create("kx", "kvm", "msr-always");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('QEMU could not start "kx" with KVM: failed to set MSR 0x10a to 0x69. --qemu-accel kvm does not fall back: create the machine with --qemu-accel tcg');
    expect(warnings(r.stderr)).toEqual([]);
    expect(await tries("kx")).toEqual(["kvm host", "kvm host,arch-capabilities=off"]);
    expect((await runTsm(store, ["status", "kx"])).stdout).toBe("Stopped\n");
  });

  it("auto where KVM cannot run the VM ends on TCG, with one warning when there is a KVM, and records it", async () => {
    // What this machine offers decides the tries: no KVM -> TCG at once, no warning; a software
    // KVM -> no KVM try, one warning; a hardware KVM -> both CPU models abort, one warning.
    const host = await probeHost("linux", "x86_64", realExec);
    const r = await create("ka", "auto", "msr-always");
    expect(r.stderr).toContain("did not answer on SSH");
    const first = await tries("ka");
    expect(first).toEqual(host.kvm === "ok" && host.kvmHardware ? ["kvm host", "kvm host,arch-capabilities=off", "tcg max"] : ["tcg max"]);
    expect(warnings(r.stderr)).toHaveLength(host.kvm === "ok" ? 1 : 0);
    if (host.kvm === "ok") expect(warnings(r.stderr)[0]).toMatch(/using TCG software emulation instead, which is much slower/);
    expect((await runTsm(store, ["inspect", "-f", "{{.Driver.Accelerator}} {{.Driver.CPUModel}}", "ka"])).stdout).toBe("tcg max\n");
    expect((await runTsm(store, ["kill", "ka"])).exitCode).toBe(0);
    const again = await runTsm(store, ["start", "ka"], { env: env("msr-always") });
    expect(warnings(again.stderr)).toEqual([]);
    expect(await tries("ka")).toEqual([...first, "tcg max"]);
  });
});
