/**
 * create -d qemu's checks and its failure path, without booting anything: bad flags and
 * a missing QEMU refuse before a record exists; a QEMU that cannot start (a failing
 * stand-in binary beside the real qemu-img) leaves a record that reports its real state,
 * refuses what it cannot do with clear errors, and is removed completely by `rm -f`.
 * The real boots are in test/e2e/qemu.test.ts.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { which } from "../bed/prereqs.js";
import { describeWithPrereqs } from "../helpers/prereq.js";
import { runTsm, tempDir } from "../helpers/cli.js";

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
