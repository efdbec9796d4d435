/**
 * Installing Docker Engine on bare Debian 12 servers by each documented
 * method, for real: the distribution's packages, an install script served
 * from a local HTTP server (it installs Debian's docker.io, as get.docker.com
 * would install Docker's), and a static binary tarball assembled from
 * Debian's docker.io binaries. Also: a server that dies in the middle of
 * provisioning.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureImage } from "../bed/images.js";
import { generateTestKeyPair, startHost, type TestHost, type TestKeyPair } from "../bed/hosts.js";
import { describeTestBed, testBedPrerequisites } from "../bed/prereqs.js";
import { ensureDockerBinaryTarball, installScript } from "../bed/artifacts.js";
import { serveFiles, type FileServer } from "../bed/http-server.js";
import { baseEnv, runTsm, TSM_BIN, type RunResult } from "../helpers/cli.js";

const MIN = 60_000;

describeTestBed("generic driver: installing Docker Engine", testBedPrerequisites(), () => {
  let tmp = "";
  let store = "";
  let key: TestKeyPair;
  let bare = "";
  let server: FileServer;
  const hosts: TestHost[] = [];
  const tsm = (args: string[]): Promise<RunResult> => runTsm(store, args, { env: { TSM_SSH_TIMEOUT: "20" } });
  const create = (name: string, host: TestHost, extra: string[]) =>
    tsm(["create", "-d", "generic", "--generic-ip-address", host.ip, "--generic-ssh-key", key.privateKeyPath, ...extra, name]);
  const start = async (name: string) => {
    const h = await startHost({ image: bare, name, authorizedKey: key.publicKey });
    hosts.push(h);
    return h;
  };
  const engineVersion = async (name: string) => {
    const r = await tsm(["version", name]);
    return r.exitCode === 0 ? r.stdout.trim() : `failed: ${r.stderr}`;
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "tsm-install-"));
    store = join(tmp, "store");
    key = await generateTestKeyPair(join(tmp, "key"));
    const [image, tarball] = await Promise.all([ensureImage("debian12-systemd"), ensureDockerBinaryTarball()]);
    bare = image;
    server = await serveFiles({ "/install.sh": { text: installScript(), contentType: "text/x-shellscript" }, "/docker.tgz": tarball });
  }, 20 * MIN);

  afterAll(async () => {
    for (const h of hosts) await h.stop();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 5 * MIN);

  describe.concurrent("each method on a bare server", () => {
    it("distro: Debian's docker.io, then upgrade by the same method", async () => {
      const host = await start("distro");
      const r = await create("distro", host, ["--engine-install-method", "distro"]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/Installing Docker Engine/);
      expect(await engineVersion("distro")).toMatch(/^\d+\.\d+\.\d+/);
      const up = await tsm(["upgrade", "distro"]);
      expect(up.exitCode, up.stderr).toBe(0);
      expect(await engineVersion("distro")).toMatch(/^\d+\.\d+\.\d+/);
    }, 15 * MIN);

    it("script: the --engine-install-url script, fetched by the server", async () => {
      const host = await start("script");
      const r = await create("script", host, ["--engine-install-method", "script", "--engine-install-url", server.urlFor("/install.sh")]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(await engineVersion("script")).toMatch(/^\d+\.\d+\.\d+/);
    }, 15 * MIN);

    it("binary: a static tarball unpacked into /usr/local/bin and run as a service", async () => {
      const host = await start("binary");
      const r = await create("binary", host, ["--engine-install-method", "binary", "--engine-binary-url", server.urlFor("/docker.tgz")]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(await engineVersion("binary")).toMatch(/^\d+\.\d+\.\d+/);
      const where = await host.exec(["sh", "-c", "systemctl show -p ExecStart docker.service; command -v dockerd"]);
      expect(where.stdout).toContain("/usr/local/bin/dockerd");
      const ps = await tsm(["ssh", "binary", "--", "docker ps -q | wc -l"]);
      expect(ps.stdout.trim()).toBe("0");
    }, 15 * MIN);

    it("Ctrl-C during provisioning: exit 130, the same clean state and hints", async () => {
      const host = await start("interrupt");
      const child = spawn(process.execPath, [TSM_BIN, "create", "-d", "generic", "--generic-ip-address", host.ip, "--generic-ssh-key", key.privateKeyPath, "--engine-install-method", "distro", "interrupt"], {
        env: { ...baseEnv(), TSM_STORAGE_PATH: store },
      });
      let stderr = "";
      let sent = false;
      child.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
        if (!sent && /Installing Docker Engine/.test(stderr)) {
          sent = true;
          child.kill("SIGINT");
        }
      });
      const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
      expect(sent).toBe(true);
      expect(code).toBe(130);
      expect(stderr).toMatch(/Error creating machine "interrupt": /);
      expect(stderr).toMatch(/tsm provision interrupt/);
      expect(stderr).toMatch(/tsm rm -f interrupt/);
      const rec = JSON.parse(readFileSync(join(store, "machines", "interrupt", "config.json"), "utf8"));
      expect(rec.name).toBe("interrupt");
      expect((await tsm(["rm", "-f", "interrupt"])).exitCode).toBe(0);
    }, 15 * MIN);

    it("a server that dies during provisioning: a clear error, a kept record, removable", async () => {
      const host = await start("dies");
      const child = spawn(process.execPath, [TSM_BIN, "create", "-d", "generic", "--generic-ip-address", host.ip, "--generic-ssh-key", key.privateKeyPath, "--engine-install-method", "distro", "dies"], {
        env: { ...baseEnv(), TSM_STORAGE_PATH: store, TSM_SSH_TIMEOUT: "10" },
      });
      let stderr = "";
      let killed = false;
      child.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
        if (!killed && /Installing Docker Engine/.test(stderr)) {
          killed = true;
          void host.stop();
        }
      });
      const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
      expect(killed).toBe(true);
      expect(code).toBe(1);
      expect(stderr).toMatch(/Error creating machine "dies": /);
      expect(stderr).toMatch(/tsm provision dies/);
      expect(stderr).toMatch(/tsm rm -f dies/);
      const rec = JSON.parse(readFileSync(join(store, "machines", "dies", "config.json"), "utf8"));
      expect(rec.driver.name).toBe("generic");
      expect((await tsm(["rm", "-f", "dies"])).exitCode).toBe(0);
    }, 15 * MIN);
  });
});
