/**
 * The generic driver end to end, as a user runs it: the built tsm against real
 * Debian 12 servers (systemd as PID 1, sshd, in containers from the test bed),
 * the real docker client through `eval "$(tsm env NAME)"`, and a locally built
 * busybox image imported into the machine's engine.
 *
 * Most hosts use the image with Debian's docker.io already installed (the
 * provisioning path alone); install-method tests start from a bare host.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureImage } from "../bed/images.js";
import { generateTestKeyPair, startHost, TEST_USERS, type TestHost, type TestKeyPair } from "../bed/hosts.js";
import { describeTestBed, testBedPrerequisites, which } from "../bed/prereqs.js";
import { ensureBusyboxImageTar } from "../bed/artifacts.js";
import { runTsm, TSM_BIN, type RunResult, runBash as bash } from "../helpers/cli.js";

const MIN = 60_000;

describeTestBed("generic driver on real servers", testBedPrerequisites(), () => {
  let tmp = "";
  let store = "";
  let key: TestKeyPair;
  let dockerImage = "";
  let busyboxTar = "";
  const hosts: TestHost[] = [];
  const tsm = (args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> =>
    runTsm(store, args, { env: { TSM_SSH_TIMEOUT: "20", ...env } });
  const create = (name: string, host: TestHost, extra: string[] = [], user: string = TEST_USERS.root) =>
    tsm(["create", "-d", "generic", "--generic-ip-address", host.ip, "--generic-ssh-user", user, "--generic-ssh-key", key.privateKeyPath, "--engine-install-method", "none", ...extra, name]);
  const withEnv = (name: string, script: string) => bash(`set -e; eval "$(node ${TSM_BIN} env ${name})"; ${script}`, { TSM_STORAGE_PATH: store });
  const start = async (name: string, image = dockerImage, extra: Partial<Parameters<typeof startHost>[0]> = {}) => {
    const h = await startHost({ image, name, authorizedKey: key.publicKey, ...extra });
    hosts.push(h);
    return h;
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "tsm-generic-"));
    store = join(tmp, "store");
    key = await generateTestKeyPair(join(tmp, "key"));
    [dockerImage, busyboxTar] = await Promise.all([ensureImage("debian12-systemd-docker"), ensureBusyboxImageTar()]);
  }, 20 * MIN);

  afterAll(async () => {
    for (const h of hosts) await h.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 5 * MIN);

  describe("a machine on a Debian 12 server with docker.io", () => {
    let host: TestHost;
    const hostile = `a b "double" 'single' $(touch /tmp/pwned) \`touch /tmp/pwned2\` $HOME %h \\back`;

    beforeAll(async () => {
      host = await start("web");
      const r = await create("web", host, [
        "--engine-label",
        `hostile=${hostile}`,
        "--engine-env",
        `HOSTILE=${hostile}`,
        "--engine-opt",
        "log-level=warn",
      ]);
      expect(r.stderr).toContain("Docker");
      expect(r.exitCode, r.stderr).toBe(0);
    }, 10 * MIN);

    it("reports each step and the total time", async () => {
      const r = await tsm(["inspect", "-f", "{{.Driver.IPAddress}} {{.Driver.SSHUser}} {{.Driver.SSHPort}}", "web"]);
      expect(r.stdout).toBe(`${host.ip} root 22\n`);
    });

    it("the real docker client runs a locally built image through eval $(tsm env)", async () => {
      const r = await withEnv("web", `docker import ${busyboxTar} tsm-test/busybox:local >/dev/null && docker run --rm tsm-test/busybox:local echo hello-from-tsm`);
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe("hello-from-tsm");
    }, 5 * MIN);

    it("hostile engine values arrive exactly and execute nothing", async () => {
      const labels = await withEnv("web", "docker info --format '{{json .Labels}}'");
      expect(JSON.parse(labels.stdout)).toEqual(expect.arrayContaining([`hostile=${hostile}`, "provider=generic"]));
      const environ = await tsm(["ssh", "web", "--", "tr '\\0' '\\n' < /proc/$(pidof dockerd)/environ"]);
      expect(environ.stdout.split("\n")).toContain(`HOSTILE=${hostile}`);
      const pwned = await host.exec(["sh", "-c", "ls /tmp/pwned /tmp/pwned2 /root/pwned 2>&1 || true"]);
      expect(pwned.stdout).not.toMatch(/^\/(tmp|root)\/pwned/m);
    });

    it("ls shows it Running with the engine version; status and url agree", async () => {
      const ls = await tsm(["ls", "--filter", "name=^web$"]);
      expect(ls.stdout).toMatch(new RegExp(`^web +- +generic +Running +tcp://${host.ip.replace(/\./g, "\\.")}:2376 +v\\d+\\.\\d+\\.\\d+\\S* *$`, "m"));
      expect((await tsm(["status", "web"])).stdout).toBe("Running\n");
      expect((await tsm(["url", "web"])).stdout).toBe(`tcp://${host.ip}:2376\n`);
      expect((await tsm(["version", "web"])).stdout).toMatch(/^\d+\.\d+\.\d+/);
    });

    it("ssh runs commands, returns their output and exit status", async () => {
      expect((await tsm(["ssh", "web", "--", "hostname"])).stdout.trim()).toBe("web");
      const failed = await tsm(["ssh", "web", "--", "echo out; echo err >&2; exit 3"]);
      expect(failed.exitCode).toBe(3);
      expect(failed.stdout).toBe("out\n");
      expect(failed.stderr).toBe("err\n");
    });

    it("scp copies both ways, files and trees", async () => {
      const local = join(tmp, "up.txt");
      writeFileSync(local, "payload with spaces\n");
      expect((await tsm(["scp", local, "web:/tmp/up.txt"])).exitCode).toBe(0);
      expect((await tsm(["ssh", "web", "--", "cat /tmp/up.txt"])).stdout).toBe("payload with spaces\n");
      const back = join(tmp, "down.txt");
      expect((await tsm(["scp", "web:/tmp/up.txt", back])).exitCode).toBe(0);
      expect(readFileSync(back, "utf8")).toBe("payload with spaces\n");
      const tree = join(tmp, "tree");
      mkdirSync(join(tree, "sub dir"), { recursive: true });
      writeFileSync(join(tree, "sub dir", "f 1"), "one");
      expect((await tsm(["scp", "-r", tree, "web:/tmp/"])).exitCode).toBe(0);
      expect((await tsm(["ssh", "web", "--", "cat '/tmp/tree/sub dir/f 1'"])).stdout).toBe("one");
    });

    it("regenerate-certs keeps a running container alive and the client working", async () => {
      const started = await withEnv("web", "docker run -d --restart unless-stopped tsm-test/busybox:local sleep 100000");
      const id = started.stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      const before = readFileSync(join(store, "machines", "web", "server.pem"), "utf8");
      const r = await tsm(["regenerate-certs", "-f", "web"]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(readFileSync(join(store, "machines", "web", "server.pem"), "utf8")).not.toBe(before);
      const running = await withEnv("web", `docker inspect -f '{{.State.Running}}' ${id}`);
      expect(running.stdout.trim()).toBe("true");
    }, 5 * MIN);

    it("provision twice is harmless", async () => {
      for (let i = 0; i < 2; i++) {
        const r = await tsm(["provision", "web"]);
        expect(r.exitCode, r.stderr).toBe(0);
      }
      const r = await withEnv("web", "docker run --rm tsm-test/busybox:local echo still-fine");
      expect(r.stdout.trim()).toBe("still-fine");
    }, 10 * MIN);

    // sshfs and /dev/fuse come from .ci/run; without them this is skipped outside CI.
    it.skipIf(which("sshfs") === undefined && process.env.CI !== "true")("mount shows a machine directory locally through sshfs, checking the pinned host key", async () => {
      await tsm(["ssh", "web", "--", "mkdir -p /srv/share && echo shared > /srv/share/f.txt"]);
      const mnt = join(tmp, "mnt");
      const r = await tsm(["mount", "web:/srv/share", mnt]);
      expect(r.exitCode, r.stderr).toBe(0);
      try {
        expect(readFileSync(join(mnt, "f.txt"), "utf8")).toBe("shared\n");
      } finally {
        const u = await tsm(["mount", "-u", "web:/srv/share", mnt]);
        expect(u.exitCode, u.stderr).toBe(0);
      }
      expect(existsSync(join(mnt, "f.txt"))).toBe(false);
      expect(readFileSync(join(store, "machines", "web", "known_hosts"), "utf8")).toMatch(new RegExp(`^${host.ip.replace(/\./g, "\\.")} ssh-ed25519 AAAA`));
    });

    it("a changed host key is refused until the user accepts it with ssh-trust", async () => {
      await host.exec(["sh", "-c", "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh"]);
      await host.waitForSsh();
      const recordBefore = readFileSync(join(store, "machines", "web", "config.json"), "utf8");
      const r = await tsm(["ssh", "web", "--", "touch /tmp/should-not-exist"]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/The SSH host key of .* has changed .*tsm ssh-trust web/);
      expect((await host.exec(["test", "-e", "/tmp/should-not-exist"])).exitCode).not.toBe(0);
      expect(readFileSync(join(store, "machines", "web", "config.json"), "utf8")).toBe(recordBefore);
      const trust = await tsm(["ssh-trust", "-f", "web"]);
      expect(trust.exitCode, trust.stderr).toBe(0);
      expect((await tsm(["ssh", "web", "--", "true"])).exitCode).toBe(0);
    }, 5 * MIN);

    it("rm removes the record and leaves the server alone; --clean-host removes what tsm installed", async () => {
      const r = await tsm(["rm", "-y", "--clean-host", "web"]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect((await tsm(["ls", "-q"])).stdout.split("\n")).not.toContain("web");
      const left = await host.exec(["sh", "-c", "ls /etc/docker /etc/systemd/system/docker.service.d 2>&1; systemctl is-active docker"]);
      expect(left.stdout).not.toContain("server-key.pem");
      expect(left.stdout).not.toContain("10-tsm.conf");
    }, 5 * MIN);
  });

  describe("users and failures", () => {
    it("works as a non-root user with passwordless sudo", async () => {
      const host = await start("sudoer");
      const r = await create("sudoer", host, [], TEST_USERS.sudoer);
      expect(r.exitCode, r.stderr).toBe(0);
      const ok = await bash(`eval "$(node ${TSM_BIN} env sudoer)" && docker version --format '{{.Server.Version}}'`, { TSM_STORAGE_PATH: store });
      expect(ok.stdout.trim()).toMatch(/^\d+\.\d+/);
    }, 10 * MIN);

    it("a user without sudo gets a clear error before anything is changed, and a removable record", async () => {
      const host = await start("nosudo");
      const before = await host.exec(["sh", "-c", "cat /etc/hostname; ls /etc/docker; cat /etc/docker/daemon.json 2>/dev/null; true"]);
      const r = await create("nosudo", host, [], TEST_USERS.nosudo);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/passwordless sudo/);
      expect(r.stderr).toMatch(/tsm rm -f nosudo/);
      const after = await host.exec(["sh", "-c", "cat /etc/hostname; ls /etc/docker; cat /etc/docker/daemon.json 2>/dev/null; true"]);
      expect(after.stdout).toBe(before.stdout);
      expect((await tsm(["rm", "-f", "nosudo"])).exitCode).toBe(0);
    }, 10 * MIN);

    it("an unreachable host fails with a clear error after the SSH deadline, and the record can be removed", async () => {
      const r = await tsm(["create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--generic-ssh-port", "1", "--generic-ssh-key", key.privateKeyPath, "unreach"], { TSM_SSH_TIMEOUT: "3" });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/127\.0\.0\.1:1/);
      expect(r.stderr).toMatch(/tsm provision unreach|tsm rm -f unreach/);
      const ls = await tsm(["ls", "--filter", "name=^unreach$", "-t", "3"]);
      expect(ls.stdout).toMatch(/^unreach +- +generic +Stopped/m);
      expect((await tsm(["rm", "-f", "unreach"])).exitCode).toBe(0);
    }, 5 * MIN);

    it("a dockerd that cannot start gives its log lines and a consistent record", async () => {
      const host = await start("baddockerd");
      const r = await create("baddockerd", host, ["--engine-opt", "no-such-dockerd-flag=1"]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/no-such-dockerd-flag/);
      expect(r.stderr).toMatch(/tsm rm -f baddockerd/);
      const rec = JSON.parse(readFileSync(join(store, "machines", "baddockerd", "config.json"), "utf8"));
      expect(rec.engine.opts).toEqual(["no-such-dockerd-flag=1"]);
      expect((await tsm(["rm", "-f", "baddockerd"])).exitCode).toBe(0);
    }, 10 * MIN);
  });
});
