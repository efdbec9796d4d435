/**
 * The generic suite's core on the other Debian releases people run: Debian 11 (bullseye,
 * docker.io 20.10.5, systemd 247) and Debian 13 (trixie, docker.io 26.x, systemd 257), each a
 * real systemd host built by the test bed from that release's own packages. One host per
 * release, both prepared concurrently; differences between releases belong in src/provision.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureImage, type ImageKind } from "../bed/images.js";
import { generateTestKeyPair, startHost, TEST_USERS, type TestHost, type TestKeyPair } from "../bed/hosts.js";
import { describeTestBed, testBedPrerequisites } from "../bed/prereqs.js";
import { ensureBusyboxImageTar } from "../bed/artifacts.js";
import { runTsm, TSM_BIN, type RunResult, runBash as bash } from "../helpers/cli.js";

const MIN = 60_000;
const RELEASES: ReadonlyArray<{ name: string; kind: ImageKind }> = [
  { name: "deb11", kind: "debian11-systemd-docker" },
  { name: "deb13", kind: "debian13-systemd-docker" },
];
const hostile = `a b "double" 'single' $(touch /tmp/pwned) \`touch /tmp/pwned2\` $HOME %h \\back`;

describeTestBed("generic driver on Debian 11 and 13", testBedPrerequisites(), () => {
  let tmp = "";
  let store = "";
  let key: TestKeyPair;
  let busyboxTar = "";
  const hosts = new Map<string, TestHost>();
  const created = new Map<string, RunResult>();
  const tsm = (args: string[]): Promise<RunResult> => runTsm(store, args, { env: { TSM_SSH_TIMEOUT: "20" } });
  const withEnv = (name: string, script: string) => bash(`set -e; eval "$(node ${TSM_BIN} env ${name})"; ${script}`, { TSM_STORAGE_PATH: store });

  beforeAll(async () => {
    const t0 = Date.now();
    tmp = mkdtempSync(join(tmpdir(), "tsm-releases-"));
    store = join(tmp, "store");
    key = await generateTestKeyPair(join(tmp, "key"));
    const [images, tar] = await Promise.all([Promise.all(RELEASES.map((r) => ensureImage(r.kind))), ensureBusyboxImageTar()]);
    busyboxTar = tar;
    const t1 = Date.now();
    await Promise.all(
      RELEASES.map(async (rel, i) => {
        const host = await startHost({ image: images[i]!, name: rel.name, authorizedKey: key.publicKey });
        hosts.set(rel.name, host);
        created.set(
          rel.name,
          await tsm(["create", "-d", "generic", "--generic-ip-address", host.ip, "--generic-ssh-user", TEST_USERS.root, "--generic-ssh-key", key.privateKeyPath,
            "--engine-install-method", "none", "--engine-label", `hostile=${hostile}`, "--engine-env", `HOSTILE=${hostile}`, rel.name]),
        );
      }),
    );
    console.log(`[generic-releases] images ${((t1 - t0) / 1000).toFixed(1)} s, hosts + create ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  }, 40 * MIN);

  afterAll(async () => {
    for (const h of hosts.values()) await h.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 5 * MIN);

  describe.each(RELEASES)("$kind", ({ name }) => {
    it("create with --engine-install-method none succeeds", () => {
      const r = created.get(name)!;
      expect(r.exitCode, r.stderr).toBe(0);
    });

    it("hostile engine values arrive exactly and execute nothing", async () => {
      const labels = await withEnv(name, "docker info --format '{{json .Labels}}'");
      expect(JSON.parse(labels.stdout)).toEqual(expect.arrayContaining([`hostile=${hostile}`, "provider=generic"]));
      const environ = await tsm(["ssh", name, "--", "tr '\\0' '\\n' < /proc/$(pidof dockerd)/environ"]);
      expect(environ.stdout.split("\n")).toContain(`HOSTILE=${hostile}`);
      const pwned = await hosts.get(name)!.exec(["sh", "-c", "ls /tmp/pwned /tmp/pwned2 /root/pwned 2>&1 || true"]);
      expect(pwned.stdout).not.toMatch(/^\/(tmp|root)\/pwned/m);
    });

    it("the real docker client runs the local busybox through eval $(tsm env)", async () => {
      const r = await withEnv(name, `docker import ${busyboxTar} tsm-test/busybox:local >/dev/null && docker run --rm tsm-test/busybox:local echo hello-from-tsm`);
      expect(r.stdout.trim(), r.stderr).toBe("hello-from-tsm");
    }, 5 * MIN);

    it("regenerate-certs keeps a running container alive", async () => {
      const id = (await withEnv(name, "docker run -d --restart unless-stopped tsm-test/busybox:local sleep 100000")).stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      const before = readFileSync(join(store, "machines", name, "server.pem"), "utf8");
      const r = await tsm(["regenerate-certs", "-f", name]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(readFileSync(join(store, "machines", name, "server.pem"), "utf8")).not.toBe(before);
      expect((await withEnv(name, `docker inspect -f '{{.State.Running}}' ${id}`)).stdout.trim()).toBe("true");
    }, 5 * MIN);

    // Upgrade is by the recorded install method: `none` refuses (tsm did not install it);
    // re-created as `distro` (Debian's docker.io, already there), upgrade runs that release's
    // apt-get --only-upgrade docker.io from its -updates/-security suites.
    it("upgrade: refused for none; by Debian's docker.io for distro, engine of that release kept", async () => {
      const refused = await tsm(["upgrade", name]);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toMatch(/install method "none"/);
      const host = hosts.get(name)!;
      expect((await tsm(["rm", "-f", name])).exitCode).toBe(0);
      const again = await tsm(["create", "-d", "generic", "--generic-ip-address", host.ip, "--generic-ssh-user", TEST_USERS.root, "--generic-ssh-key", key.privateKeyPath, "--engine-install-method", "distro", name]);
      expect(again.exitCode, again.stderr).toBe(0);
      const r = await tsm(["upgrade", name]);
      expect(r.exitCode, r.stderr).toBe(0);
      const version = (await tsm(["version", name])).stdout.trim();
      expect(version).toMatch(name === "deb11" ? /^20\.10\./ : /^(2[6-9]|[3-9]\d)\./);
      expect((await withEnv(name, "docker run --rm tsm-test/busybox:local echo after-upgrade")).stdout.trim()).toBe("after-upgrade");
    }, 10 * MIN);

    it("a changed host key is refused until ssh-trust", async () => {
      const host = hosts.get(name)!;
      await host.exec(["sh", "-c", "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh"]);
      await host.waitForSsh();
      const r = await tsm(["ssh", name, "--", "touch /tmp/should-not-exist"]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`The SSH host key of .* has changed .*tsm ssh-trust ${name}`));
      expect((await host.exec(["test", "-e", "/tmp/should-not-exist"])).exitCode).not.toBe(0);
      const trust = await tsm(["ssh-trust", "-f", name]);
      expect(trust.exitCode, trust.stderr).toBe(0);
      expect((await tsm(["ssh", name, "--", "true"])).exitCode).toBe(0);
    }, 5 * MIN);
  });
});
