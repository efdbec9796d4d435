/**
 * The qemu driver end to end on real virtual machines (TCG here: no KVM), as a user runs it:
 * the built tsm downloads a Debian cloud-style image from a local HTTP server (the image and
 * its SHA512SUMS, under Debian's path layout), verifies and caches it, boots a VM with its
 * own cloud-init seed, provisions Docker Engine over SSH, and the real docker client runs a
 * container through `eval "$(tsm env NAME)"`. Then the whole lifecycle, a second machine
 * joining the first in a swarm over the store's shared network, and the failures a user
 * meets: a corrupted download and a VM that never brings up SSH.
 *
 * The image is the test bed's `debian12-cloud-docker` (test/vm/image.ts): Debian's
 * docker.io is pre-installed, because installing it under TCG takes minutes; the install
 * path is covered by the generic driver's tests. Boots take 1.5 to 3 minutes each here.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureBusyboxImageTar } from "../bed/artifacts.js";
import { describeTestBed, which } from "../bed/prereqs.js";
import { runTsm, TSM_BIN, type RunResult, runBash as bash } from "../helpers/cli.js";
import { startServer, type TestServer } from "../unit/images/http-server.js";
import { ensureVmImage, VM_IMAGE_FILE, type VmImage } from "../vm/image.js";
import { vmPrerequisites } from "../vm/qemu.js";

const MIN = 60_000;
const IMAGE_PATH = `/images/cloud/bookworm/latest/${VM_IMAGE_FILE}`;

function prerequisites() {
  const pre = vmPrerequisites();
  const missing = [...pre.missing];
  if (!which("docker")) missing.push("`docker` client not found (apt-get install docker.io)");
  return { ok: missing.length === 0, missing };
}

/** QEMU processes whose command line names `dir`. */
function qemuProcessesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmd.startsWith("qemu-system") && cmd.includes(dir)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

describeTestBed("qemu driver on real virtual machines", prerequisites(), () => {
  let tmp = "";
  let store = "";
  let image: VmImage;
  let busyboxTar = "";
  let server: TestServer;
  let imageUrl = "";
  const tsm = (args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> =>
    runTsm(store, args, { env: { TSM_SSH_TIMEOUT: "300", TSM_ENGINE_TIMEOUT: "600", ...env } });
  const withEnv = (name: string, script: string, flags = "") =>
    bash(`set -e; eval "$(node ${TSM_BIN} env ${flags} ${name})"; ${script}`, { TSM_STORAGE_PATH: store });
  const machineOpts = ["--qemu-image-url", "", "--qemu-disk-size", "6000", "--qemu-memory", "1536"];
  const create = (name: string, extra: string[] = [], env: Record<string, string> = {}) =>
    tsm(["create", "-d", "qemu", ...machineOpts.map((o) => (o === "" ? imageUrl : o)), ...extra, name], env);

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "tsm-qemu-"));
    store = join(tmp, "store");
    [image, busyboxTar] = await Promise.all([ensureVmImage("debian12-cloud-docker"), ensureBusyboxImageTar()]);
    server = await startServer();
    const sendFile = (file: string) => (_req: unknown, res: import("node:http").ServerResponse) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(statSync(file).size) });
      createReadStream(file).pipe(res);
    };
    server.route(IMAGE_PATH, sendFile(image.qcow2Path));
    server.route("/images/cloud/bookworm/latest/SHA512SUMS", (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(image.sha512sumsText);
    });
    imageUrl = `${server.base}${IMAGE_PATH}`;
  }, 20 * MIN);

  afterAll(async () => {
    if (store) {
      for (const name of ["vm2", "vm1", "nossh", "bad"]) await tsm(["rm", "-f", name]).catch(() => undefined);
      for (const pid of qemuProcessesUnder(store)) process.kill(pid, "SIGKILL");
    }
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 5 * MIN);

  it("refuses a corrupted download: clear error, nothing cached, the record removable", async () => {
    const bad = join(tmp, "bad.qcow2");
    writeFileSync(bad, readFileSync(image.qcow2Path).subarray(0, 4 * 1024 * 1024));
    server.route("/corrupt/latest/" + VM_IMAGE_FILE, (_req, res) => {
      res.writeHead(200);
      createReadStream(bad).pipe(res);
    });
    server.route("/corrupt/latest/SHA512SUMS", (_req, res) => {
      res.end(image.sha512sumsText);
    });
    const r = await tsm(["create", "-d", "qemu", "--qemu-image-url", `${server.base}/corrupt/latest/${VM_IMAGE_FILE}`, "bad"]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/checksum|digest/i);
    expect(r.stderr).toContain(`${server.base}/corrupt/latest/${VM_IMAGE_FILE}`);
    const cached = existsSync(join(store, "cache", "images")) ? readdirSync(join(store, "cache", "images")).filter((f) => /^sha(256|512)-/.test(f)) : [];
    expect(cached).toEqual([]);
    expect(r.stderr).toContain("tsm rm -f bad");
    const rm = await tsm(["rm", "-f", "bad"]);
    expect(rm.exitCode, rm.stderr).toBe(0);
    expect(existsSync(join(store, "machines", "bad"))).toBe(false);
  }, 5 * MIN);

  it("creates a machine from the served image: verified, cached, booted, provisioned, a swarm master", async () => {
    const r = await create("vm1", ["--swarm-master"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("Downloading");
    expect(r.stderr).toMatch(/Starting the VM with (TCG software emulation|KVM)/);
    expect(r.stderr).toContain("Waiting for the first boot (cloud-init) to finish");
    const entries = readdirSync(join(store, "cache", "images")).filter((f) => f.startsWith("sha512-"));
    expect(entries).toEqual([`sha512-${image.sha512}`]);
    // The overlay is small: it only holds what the guest wrote.
    const disk = statSync(join(store, "machines", "vm1", "disk.qcow2"));
    expect(disk.size).toBeLessThan(statSync(image.qcow2Path).size);
    expect(statSync(join(store, "machines", "vm1", "id_ed25519")).mode & 0o777).toBe(0o600);
  }, 15 * MIN);

  it("runs a container with the real docker client through tsm env", async () => {
    const r = await withEnv("vm1", `docker import ${busyboxTar} tsm-test/busybox:local >/dev/null && docker run --rm tsm-test/busybox:local sh -c 'echo hello from $(hostname)'`);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^hello from [0-9a-f]{12}\n$/);
    const url = await tsm(["url", "vm1"]);
    expect(url.stdout).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+\n$/);
  }, 5 * MIN);

  it("pinned the guest's host key before first contact: the one cloud-init installed", async () => {
    const record = JSON.parse(readFileSync(join(store, "machines", "vm1", "config.json"), "utf8")) as { ssh?: { hostKey?: string } };
    const r = await tsm(["ssh", "vm1", "sudo cat /etc/ssh/ssh_host_ed25519_key.pub; echo; ls /etc/ssh | grep -c '^ssh_host_.*_key$'"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const [line, count] = r.stdout.split("\n").filter((l) => l.trim() !== "");
    expect(line, r.stdout).toMatch(/^ssh-ed25519 /);
    const blob = Buffer.from(line!.split(" ")[1]!, "base64");
    const fingerprint = `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
    expect(record.ssh?.hostKey).toBe(`ssh-ed25519 ${fingerprint}`);
    // Only the key tsm gave: cloud-init generated none of its own.
    expect(count).toBe("1");
  }, 2 * MIN);

  it("shows the accelerator, the shared address and the serial console", async () => {
    const r = await tsm(["inspect", "-f", "{{.Driver.Accelerator}} {{.Driver.SharedAddress}} {{.Driver.IPAddress}}", "vm1"]);
    expect(r.stdout).toMatch(/^(tcg|kvm) 192\.168\.127\.\d+ 127\.0\.0\.1\n$/);
    const logs = await tsm(["logs", "-n", "400", "vm1"]);
    expect(logs.exitCode).toBe(0);
    expect(logs.stdout).toMatch(/Linux version|cloud-init/);
    expect(logs.stdout).not.toContain("\x1b[");
    const generic = await tsm(["logs", "nosuch"]);
    expect(generic.exitCode).toBe(4);
  }, 2 * MIN);

  it("stops (ACPI) and reports Stopped from the process, not a stored flag", async () => {
    const before = qemuProcessesUnder(join(store, "machines", "vm1"));
    expect(before.length).toBe(1);
    const r = await tsm(["stop", "vm1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(qemuProcessesUnder(join(store, "machines", "vm1"))).toEqual([]);
    expect((await tsm(["status", "vm1"])).stdout).toBe("Stopped\n");
    const url = await tsm(["url", "vm1"]);
    expect(url.exitCode).toBe(7);
    expect(url.stderr).toContain("tsm start vm1");
    expect((await tsm(["stop", "vm1"])).stderr).toContain("already stopped");
  }, 5 * MIN);

  it("starts again on the same URL with the same, still valid certificates", async () => {
    const certBefore = readFileSync(join(store, "machines", "vm1", "server.pem"), "utf8");
    const urlBefore = JSON.parse(readFileSync(join(store, "machines", "vm1", "config.json"), "utf8")).driver.config.engineHostPort;
    const r = await tsm(["start", "vm1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await tsm(["status", "vm1"])).stdout).toBe("Running\n");
    expect((await tsm(["url", "vm1"])).stdout).toBe(`tcp://127.0.0.1:${urlBefore}\n`);
    expect(readFileSync(join(store, "machines", "vm1", "server.pem"), "utf8")).toBe(certBefore);
    const d = await withEnv("vm1", "docker run --rm tsm-test/busybox:local echo again");
    expect(d.stdout).toBe("again\n");
  }, 10 * MIN);

  it("restarts: a fresh boot, and the engine answers afterwards", async () => {
    const bootBefore = (await tsm(["ssh", "vm1", "cat /proc/sys/kernel/random/boot_id"])).stdout.trim();
    const r = await tsm(["restart", "vm1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const bootAfter = (await tsm(["ssh", "vm1", "cat /proc/sys/kernel/random/boot_id"])).stdout.trim();
    expect(bootAfter).toMatch(/^[0-9a-f-]{36}$/);
    expect(bootAfter).not.toBe(bootBefore);
    const d = await withEnv("vm1", "docker info --format '{{.Swarm.LocalNodeState}}'");
    expect(d.stdout).toBe("active\n");
  }, 10 * MIN);

  it("a second machine reuses the cached image and joins the swarm over the shared network", async () => {
    const r = await create("vm2", ["--swarm-join", "vm1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("Downloading");
    expect(server.count(IMAGE_PATH)).toBe(1);
    const vm1Address = (await tsm(["inspect", "-f", "{{.Driver.SharedAddress}}", "vm1"])).stdout.trim();
    expect(vm1Address).toMatch(/^192\.168\.127\.\d+$/);
    const reach = await tsm(["ssh", "vm2", `timeout 5 bash -c '</dev/tcp/${vm1Address}/2377' && echo reached`]);
    expect(reach.stdout).toBe("reached\n");
    const nodes = await withEnv("vm1", "docker node ls --format '{{.Hostname}} {{.Status}}' | sort", "--swarm");
    expect(nodes.stdout).toBe("vm1 Ready\nvm2 Ready\n");
  }, 15 * MIN);

  it("a VM that never brings up SSH fails clearly and leaves a removable record", async () => {
    // A disk with nothing to boot: the firmware finds no boot loader, SSH never answers.
    const blank = join(tmp, "blank.raw");
    writeFileSync(blank, Buffer.alloc(64 * 1024 * 1024));
    const r = await tsm(["create", "-d", "qemu", "--qemu-image-url", blank, "--qemu-disk-size", "1024", "nossh"], { TSM_QEMU_BOOT_TIMEOUT: "20" });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("did not answer on SSH within 20 s");
    expect(r.stderr).toContain("tsm logs nossh");
    expect(r.stderr).toContain("tsm rm -f nossh");
    expect(qemuProcessesUnder(join(store, "machines", "nossh")).length).toBe(1);
    const rm = await tsm(["rm", "-f", "nossh"]);
    expect(rm.exitCode, rm.stderr).toBe(0);
    expect(qemuProcessesUnder(join(store, "machines", "nossh"))).toEqual([]);
    expect(existsSync(join(store, "machines", "nossh"))).toBe(false);
  }, 5 * MIN);

  it("rm leaves no process, no files and no address lease", async () => {
    const worker = await tsm(["rm", "-y", "vm2"]);
    expect(worker.exitCode, worker.stderr).toBe(0);
    const manager = await tsm(["rm", "-f", "vm1"]);
    expect(manager.exitCode, manager.stderr).toBe(0);
    expect(qemuProcessesUnder(join(store, "machines"))).toEqual([]);
    expect(readdirSync(join(store, "machines"))).toEqual([]);
    expect(readdirSync(join(store, "cache", "qemu-network"))).toEqual([]);
    // The verified image stays cached for the next machine.
    expect(readdirSync(join(store, "cache", "images"))).toContain(`sha512-${image.sha512}`);
  }, 5 * MIN);
});
