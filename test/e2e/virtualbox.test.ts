/**
 * The virtualbox driver's whole lifecycle as a user runs it: the built tsm drives the
 * VBoxManage stand-in (test/vbox) whose running VMs are test-bed containers
 * (VBOX_STANDIN_GUEST=container: systemd Debian 12 with Docker Engine, on a docker network that
 * plays the host-only network, at the DHCP lease of NIC2's MAC, with the NAT SSH forward on
 * 127.0.0.1). The real docker client talks to the machine's engine through
 * `eval "$(tsm env vb1)"`. The image file is a small local raw file: the stand-in never boots it.
 * A start with VBOX_STANDIN_DHCP_LOST_LEASE gives the VM a new host-only address, as when
 * VirtualBox's DHCP lease file is lost (Docker Machine's "certificate is not valid for IP" bug).
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { connect } from "node:tls";
import { afterAll, beforeAll, expect, it } from "vitest";
import { BUSYBOX_IMPORT_CHANGES, ensureBusyboxImageTar } from "../bed/artifacts.js";
import { docker, ensureDockerd } from "../bed/dockerd.js";
import { ensureImage } from "../bed/images.js";
import { describeTestBed, testBedPrerequisites } from "../bed/prereqs.js";
import { baseEnv, ROOT, runTsm, TSM_BIN, type RunResult } from "../helpers/cli.js";

const MIN = 60_000;
const STANDIN_BIN = path.join(ROOT, "test", "vbox", "bin");

describeTestBed("virtualbox driver against the VBoxManage stand-in with container guests", testBedPrerequisites(), () => {
  let tmp = "";
  let store = "";
  let home = "";
  let image = "";
  let busyboxTar = "";
  let env: Record<string, string> = {};

  const tsm = (args: string[]): Promise<RunResult> => runTsm(store, args, { env });
  const vbm = (args: string[]): Promise<RunResult> =>
    new Promise((resolve) => {
      execFile(path.join(STANDIN_BIN, "VBoxManage"), args, { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
        resolve({ stdout, stderr, exitCode: err ? Number((err as { code?: number }).code ?? 1) : 0 }),
      );
    });
  const bash = (script: string): Promise<RunResult> =>
    new Promise((resolve) => {
      execFile("bash", ["-c", script], { env: { ...baseEnv(), ...env, TSM_STORAGE_PATH: store }, timeout: 5 * MIN, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
        resolve({ stdout, stderr, exitCode: err ? Number((err as { code?: number }).code ?? 1) : 0 }),
      );
    });
  const withEnv = (script: string) => bash(`set -e; eval "$(node ${TSM_BIN} env vb1)"; ${script}`);

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), "tsm-vbox-e2e-"));
    store = path.join(tmp, "store");
    home = path.join(tmp, "vbox");
    const raw = path.join(tmp, "debian-13-generic-amd64.raw");
    writeFileSync(raw, Buffer.alloc(4 * 1024 * 1024));
    await ensureDockerd();
    [image, busyboxTar] = await Promise.all([ensureImage("debian12-systemd-docker"), ensureBusyboxImageTar()]);
    env = {
      PATH: `${STANDIN_BIN}${path.delimiter}${process.env.PATH}`,
      VBOX_STANDIN_HOME: home,
      VBOX_STANDIN_GUEST: "container",
      VBOX_STANDIN_GUEST_IMAGE: image,
      VIRTUALBOX_NO_VTX_CHECK: "1",
      VIRTUALBOX_NO_SHARE: "1",
      VIRTUALBOX_IMAGE_URL: raw,
      TSM_SSH_TIMEOUT: process.env.TSM_VBOX_E2E_SSH_TIMEOUT ?? "90",
      TSM_VBOX_STOP_TIMEOUT: "60",
    };
  }, 20 * MIN);

  afterAll(async () => {
    if (!home) return;
    // Whatever a failed test left: containers and networks of this stand-in home.
    const ids = (await docker(["ps", "-aq", "--filter", `label=tsm.vbox-standin=${home}`])).stdout.split("\n").filter(Boolean);
    if (ids.length) await docker(["rm", "-f", "-v", ...ids]);
    const nets = (await docker(["network", "ls", "-q", "--filter", `label=tsm.vbox-standin=${home}`])).stdout.split("\n").filter(Boolean);
    if (nets.length) await docker(["network", "rm", ...nets]);
    rmSync(tmp, { recursive: true, force: true });
  }, 5 * MIN);

  let ip = "";

  it("creates vb1: VM, host-only network, seed, boot, engine over TLS", async () => {
    const r = await tsm(["create", "-d", "virtualbox", "--engine-install-method", "none", "vb1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    ip = (await tsm(["ip", "vb1"])).stdout.trim();
    expect(ip).toMatch(/^192\.168\.59\.(1\d\d|2[0-4]\d|25[0-4])$/);
    expect((await tsm(["url", "vb1"])).stdout.trim()).toBe(`tcp://${ip}:2376`);
    expect((await tsm(["status", "vb1"])).stdout).toBe("Running\n");
  }, 10 * MIN);

  it("the real docker client runs a container through `tsm env`", async () => {
    const changes = BUSYBOX_IMPORT_CHANGES.map((c) => `--change '${c}'`).join(" ");
    const r = await withEnv(`docker import ${changes} ${busyboxTar} tsm-test/busybox:local >/dev/null; docker run --rm tsm-test/busybox:local echo hello-from-vb1`);
    expect(r.stdout + r.stderr).toContain("hello-from-vb1");
  }, 5 * MIN);

  it("stop -> Stopped; start -> the same address, env still works", async () => {
    const stop = await tsm(["stop", "vb1"]);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect((await tsm(["status", "vb1"])).stdout).toBe("Stopped\n");
    const start = await tsm(["start", "vb1"]);
    expect(start.exitCode, start.stderr).toBe(0);
    expect((await tsm(["ip", "vb1"])).stdout.trim()).toBe(ip);
    const r = await withEnv("docker run --rm tsm-test/busybox:local echo after-start");
    expect(r.stdout).toContain("after-start");
  }, 10 * MIN);

  it("restart keeps the address and the engine", async () => {
    const r = await tsm(["restart", "vb1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await tsm(["ip", "vb1"])).stdout.trim()).toBe(ip);
    expect((await withEnv("docker version --format '{{.Server.Version}}'")).exitCode).toBe(0);
  }, 10 * MIN);

  const serverCert = () => new X509Certificate(readFileSync(path.join(store, "machines", "vb1", "server.pem")));
  const ipSans = (cert: X509Certificate) => (cert.subjectAltName ?? "").split(", ").filter((s) => s.startsWith("IP Address:")).map((s) => s.slice("IP Address:".length));

  it("a new DHCP lease at start: the server certificate is re-issued for the new address and env works", async () => {
    const stop = await tsm(["stop", "vb1"]);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(ipSans(serverCert())).toContain(ip);
    const start = await runTsm(store, ["start", "vb1"], { env: { ...env, VBOX_STANDIN_DHCP_LOST_LEASE: "vb1" } });
    expect(start.exitCode, start.stderr).toBe(0);
    expect(start.stderr).toContain("re-issuing its server certificate");
    const newIp = (await tsm(["ip", "vb1"])).stdout.trim();
    expect(newIp).toMatch(/^192\.168\.59\.(1\d\d|2[0-4]\d|25[0-4])$/);
    expect(newIp).not.toBe(ip);
    expect(start.stderr).toContain(`changed from ${ip} to ${newIp}`);
    expect((await tsm(["url", "vb1"])).stdout.trim()).toBe(`tcp://${newIp}:2376`);
    const sans = ipSans(serverCert());
    expect(sans).toContain(newIp);
    expect(sans).not.toContain(ip);
    // The same VM (its disk kept the image imported earlier), reached at the new address.
    const r = await withEnv(`test "$DOCKER_HOST" = tcp://${newIp}:2376; docker run --rm tsm-test/busybox:local echo after-new-lease`);
    expect(r.stdout + r.stderr).toContain("after-new-lease");
    const ls = await tsm(["ls", "--format", "{{.Name}}|{{.State}}|{{.URL}}|{{.DockerVersion}}|{{.Error}}"]);
    expect(ls.exitCode, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`^vb1\\|Running\\|tcp://${newIp.replace(/\./g, "\\.")}:2376\\|v?\\d+\\.\\d+[^|]*\\|\n$`));
    ip = newIp;
  }, 10 * MIN);

  it("regenerate-certs -f on the running VM: the engine serves the new certificate, env works", async () => {
    const before = serverCert();
    const r = await tsm(["regenerate-certs", "-f", "vb1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const after = serverCert();
    expect(after.fingerprint256).not.toBe(before.fingerprint256);
    expect(ipSans(after)).toContain(ip);
    // The engine was restarted with it: what it presents over TLS is the new certificate.
    const certDir = /DOCKER_CERT_PATH=["']?([^"'\n]+)/.exec((await tsm(["env", "vb1"])).stdout)?.[1] ?? "";
    expect(certDir).not.toBe("");
    const presented = await new Promise<string>((resolve, reject) => {
      const socket = connect(
        {
          host: ip,
          port: 2376,
          ca: readFileSync(path.join(certDir, "ca.pem")),
          cert: readFileSync(path.join(certDir, "cert.pem")),
          key: readFileSync(path.join(certDir, "key.pem")),
        },
        () => {
          const fp = socket.getPeerX509Certificate()?.fingerprint256 ?? "";
          socket.end();
          resolve(fp);
        },
      );
      socket.on("error", reject);
    });
    expect(presented).toBe(after.fingerprint256);
    const v = await withEnv("docker version --format '{{.Server.Version}}'");
    expect(v.exitCode, v.stderr).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+/);
  }, 5 * MIN);

  it("rm: VM unregistered, media closed, no container, no files", async () => {
    const r = await tsm(["rm", "-y", "vb1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await vbm(["list", "vms"])).stdout).toBe("");
    expect((await vbm(["list", "hdds"])).stdout).toBe("");
    expect((await vbm(["list", "dvds"])).stdout).toBe("");
    expect((await docker(["ps", "-aq", "--filter", `label=tsm.vbox-standin=${home}`])).stdout.trim()).toBe("");
    expect(existsSync(path.join(store, "machines", "vb1"))).toBe(false);
  }, 5 * MIN);
});
