/**
 * The real-host test bed itself (test/bed): builds the debian12-systemd image from Debian
 * packages, starts SSH hosts as containers and checks that they behave like real servers.
 * Fails in CI and is skipped elsewhere when the prerequisites (root, docker.io, debootstrap,
 * openssh-client) are missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../bed/dockerd.js';
import { ensureImage } from '../bed/images.js';
import { generateTestKeyPair, sshExec, startHost, type TestHost, type TestKeyPair } from '../bed/hosts.js';
import { describeTestBed, testBedPrerequisites } from '../bed/prereqs.js';
import { run } from '../bed/util.js';

const MIN = 60_000;

describeTestBed('test bed: debian12-systemd hosts', testBedPrerequisites(), () => {
  let image = '';
  let key: TestKeyPair;
  let tmp = '';
  const hosts: TestHost[] = [];

  const ssh = (host: TestHost, user: string, command: string, timeoutMs = MIN) =>
    sshExec(host, user, key.privateKeyPath, command, { timeoutMs });

  const start = async (o: { name: string; restartUnlessStopped?: boolean; systemd?: boolean }): Promise<TestHost> => {
    const t0 = Date.now();
    const h = await startHost({ image, authorizedKey: key.publicKey, ...o });
    hosts.push(h);
    console.log(`[bed.test] ${h.name} (${h.ip}) answered SSH ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
    return h;
  };

  /** `systemctl is-system-running --wait`, with the failed units and journal when not `running`. */
  const systemState = async (host: TestHost): Promise<string> => {
    const r = await ssh(host, 'root', 'systemctl is-system-running --wait', 2 * MIN);
    const state = r.stdout.trim();
    if (state !== 'running') {
      const failed = await ssh(host, 'root', 'systemctl --failed --no-pager; journalctl -b --no-pager -p warning -n 80');
      console.log(`[bed.test] ${host.name} is ${JSON.stringify(state)} (ssh exit ${r.exitCode}, ${r.stderr.trim()}):\n${failed.stdout}`);
    }
    return state;
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'tsm-bed-'));
    key = await generateTestKeyPair(join(tmp, 'key'));
    const t0 = Date.now();
    image = await ensureImage('debian12-systemd');
    console.log(`[bed.test] ensureImage('debian12-systemd') = ${image} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, 20 * MIN);

  afterAll(async () => {
    for (const h of hosts) await h.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 2 * MIN);

  describe('a systemd host', () => {
    let host: TestHost;
    beforeAll(async () => {
      host = await start({ name: 'bed' });
    }, 3 * MIN);

    it('boots systemd to `running`', async () => {
      expect(await systemState(host)).toBe('running');
      const pid1 = await ssh(host, 'root', 'cat /proc/1/comm');
      expect(pid1.stdout.trim()).toBe('systemd');
    }, 3 * MIN);

    it('is Debian 12 (bookworm)', async () => {
      const r = await ssh(host, 'root', 'cat /etc/os-release');
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/^VERSION_CODENAME=bookworm$/m);
      expect(r.stdout).toMatch(/^ID=debian$/m);
    });

    it('lets tester use sudo without a password', async () => {
      const r = await ssh(host, 'tester', 'id -un && sudo -n true && sudo -n id -u');
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual(['tester', '0']);
    });

    it('denies sudo to nosudo', async () => {
      const r = await ssh(host, 'nosudo', 'id -un && sudo -n true');
      expect(r.stdout.trim()).toBe('nosudo');
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/password is required/);
    });

    it('has its own machine id and SSH host key, and no password logins', async () => {
      const r = await ssh(host, 'root', 'cat /etc/machine-id; sshd -T | grep -E "^(passwordauthentication|permitrootlogin) "');
      const [machineId, ...cfg] = r.stdout.trim().split('\n');
      expect(machineId).toMatch(/^[0-9a-f]{32}$/);
      expect(cfg.sort()).toEqual(['passwordauthentication no', 'permitrootlogin without-password']);
      const other = await start({ name: 'bed-other' });
      const keys = await Promise.all([host, other].map((h) => ssh(h, 'root', 'cat /etc/ssh/ssh_host_ed25519_key.pub; cat /etc/machine-id')));
      expect(keys[0]!.exitCode).toBe(0);
      expect(keys[0]!.stdout).not.toBe(keys[1]!.stdout);
      await other.stop();
    }, 3 * MIN);

    it('accepts a key generated without ssh-keygen (node:crypto fallback)', async () => {
      const nodeKey = await generateTestKeyPair(join(tmp, 'nodekey'), { method: 'node' });
      const derived = await run('ssh-keygen', ['-y', '-f', nodeKey.privateKeyPath]);
      expect(derived.stdout.trim()).toBe(nodeKey.publicKey);
      const add = await host.exec(['sh', '-c', 'cat >>/home/tester/.ssh/authorized_keys'], { input: `${nodeKey.publicKey}\n` });
      expect(add.exitCode).toBe(0);
      const r = await sshExec(host, 'tester', nodeKey.privateKeyPath, 'echo ok');
      expect(r.stdout.trim()).toBe('ok');
    });

    it('exposes the journal through logs()', async () => {
      expect(await host.logs()).toMatch(/journal of .*\n[\s\S]*sshd/);
    });
  });

  it('runs sshd alone when systemd is off', async () => {
    const host = await start({ name: 'bed-nosystemd', systemd: false });
    const r = await ssh(host, 'tester', 'sudo -n cat /proc/1/comm; cat /etc/os-release | grep CODENAME');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['docker-init', 'VERSION_CODENAME=bookworm']);
    await host.stop();
  }, 3 * MIN);

  it('reboots (`systemctl reboot`) back to SSH on the same address', async () => {
    const host = await start({ name: 'bed-reboot', restartUnlessStopped: true });
    expect(await systemState(host)).toBe('running');
    const before = await ssh(host, 'root', 'cat /etc/ssh/ssh_host_ed25519_key.pub && touch /run/tsm-before-reboot');
    expect(before.exitCode).toBe(0);

    const t0 = Date.now();
    // The connection may be cut by the reboot: any exit status is fine here.
    await ssh(host, 'root', 'systemctl reboot', 30_000);
    // Wait for the *new* boot: /run is a fresh tmpfs after the reboot, so the marker is gone.
    let after = { stdout: '', stderr: '', exitCode: -1 };
    while (Date.now() - t0 < 3 * MIN) {
      after = await ssh(host, 'root', 'test ! -e /run/tsm-before-reboot && systemctl is-system-running --wait', 30_000);
      if (after.exitCode === 0 || after.stdout.trim() === 'degraded') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    console.log(`[bed.test] reboot of ${host.name}: back to SSH and systemd ${after.stdout.trim()} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(after.stdout.trim()).toBe('running');

    const inspect = await docker(['inspect', '--format', '{{.RestartCount}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', host.name]);
    const [restarts, ip] = inspect.stdout.trim().split(' ');
    expect(Number(restarts)).toBeGreaterThanOrEqual(1);
    expect(ip).toBe(host.ip);
    const keyAfter = await ssh(host, 'root', 'cat /etc/ssh/ssh_host_ed25519_key.pub');
    expect(keyAfter.stdout).toBe(before.stdout); // host keys survive a reboot, like on a server
  }, 6 * MIN);
});
