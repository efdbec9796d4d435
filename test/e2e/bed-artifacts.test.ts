/**
 * The bed's engine-install artifacts (test/bed/artifacts.ts) and its file server
 * (test/bed/http-server.ts), proven for real: the busybox rootfs imports and runs on the local
 * engine; a Debian 12 systemd host downloads the install script and the static tarball from
 * the server on the tsm-testbed gateway; the tarball's binaries run there (dockerd even starts
 * an engine that runs the busybox image); the install script installs docker.io through the
 * host's apt sources. Fails in CI and is skipped elsewhere without the bed's prerequisites.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  BUSYBOX_IMPORT_CHANGES,
  ensureBusyboxImageTar,
  ensureDockerBinaryTarball,
  installScript,
  sha256File,
} from '../bed/artifacts.js';
import { docker } from '../bed/dockerd.js';
import { serveFiles, type FileServer } from '../bed/http-server.js';
import { generateTestKeyPair, sshExec, startHost, type TestHost, type TestKeyPair } from '../bed/hosts.js';
import { ensureImage } from '../bed/images.js';
import { describeTestBed, testBedPrerequisites } from '../bed/prereqs.js';
import { run } from '../bed/util.js';

const MIN = 60_000;
const BUSYBOX_TAG = 'tsm-test/busybox:local';
const STATIC_LAYOUT = [
  'docker/',
  'docker/containerd',
  'docker/containerd-shim-runc-v2',
  'docker/ctr',
  'docker/docker',
  'docker/docker-init',
  'docker/docker-proxy',
  'docker/dockerd',
  'docker/runc',
];

const secs = (t0: number): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

describeTestBed('test bed artifacts: busybox image, static Docker tarball, install script', testBedPrerequisites(['docker', 'image', 'ssh']), () => {
  let tmp = '';
  let key: TestKeyPair;
  let busyboxTar = '';
  let dockerTgz = '';
  let server: FileServer;
  let host: TestHost;

  /** Runs a shell command as root in the host (docker exec). */
  const sh = (command: string, timeoutMs = MIN) => host.exec(['sh', '-c', command], { timeoutMs });

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'tsm-bed-artifacts-'));
    const t0 = Date.now();
    const [bb, tgz, image, k] = await Promise.all([
      ensureBusyboxImageTar().then((p) => (console.log(`[bed-artifacts] ensureBusyboxImageTar() in ${secs(t0)}`), p)),
      ensureDockerBinaryTarball().then((p) => (console.log(`[bed-artifacts] ensureDockerBinaryTarball() in ${secs(t0)}`), p)),
      ensureImage('debian12-systemd'),
      generateTestKeyPair(join(tmp, 'key')),
    ]);
    busyboxTar = bb;
    dockerTgz = tgz;
    key = k;
    console.log(`[bed-artifacts] ${busyboxTar} ${statSync(busyboxTar).size} B; ${dockerTgz} ${statSync(dockerTgz).size} B`);
    server = await serveFiles({
      '/install.sh': { text: installScript() },
      '/docker.tgz': dockerTgz,
      '/busybox.tar': busyboxTar,
    });
    const t1 = Date.now();
    host = await startHost({ image, name: 'artifacts', authorizedKey: key.publicKey });
    console.log(`[bed-artifacts] host ${host.name} (${host.ip}) up in ${secs(t1)}; server at ${server.urlFor('/')}`);
  }, 20 * MIN);

  afterAll(async () => {
    await host?.stop();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 2 * MIN);

  it('returns the cached artifacts again', async () => {
    expect(await ensureBusyboxImageTar()).toBe(busyboxTar);
    expect(await ensureDockerBinaryTarball()).toBe(dockerTgz);
  });

  it('imports the busybox rootfs on the local engine and runs it', async () => {
    const args = ['import'];
    for (const c of BUSYBOX_IMPORT_CHANGES) args.push('--change', c);
    const imp = await docker([...args, busyboxTar, BUSYBOX_TAG], { timeoutMs: 2 * MIN });
    expect(imp.stderr).toBe('');
    expect(imp.exitCode).toBe(0);
    const r = await docker(
      ['run', '--rm', '--network', 'none', '--hostname', 'bb', BUSYBOX_TAG, 'sh', '-c', 'echo hello from busybox; id -un; hostname; sleep 0; cat /etc/group | head -1; ls /bin/sh; true'],
      { timeoutMs: MIN },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['hello from busybox', 'root', 'bb', 'root:x:0:', '/bin/sh']);
    // The default command is a shell.
    const def = await docker(['run', '--rm', '-i', '--network', 'none', BUSYBOX_TAG], { input: 'echo default sh\n', timeoutMs: MIN });
    expect(def.stdout.trim()).toBe('default sh');
  }, 3 * MIN);

  it('packs the static tarball in the layout of Docker static tarballs', async () => {
    const r = await run('tar', ['-tzvf', dockerTgz]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/).pop()).sort()).toEqual(STATIC_LAYOUT);
    for (const l of lines) expect(l).toMatch(/^[-d]rwxr-xr-x 0\/0 /);
  });

  it('serves exact lengths and 404s from the tsm-testbed gateway', async () => {
    const head = await fetch(server.urlFor('/docker.tgz'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(statSync(dockerTgz).size);
    const text = await fetch(server.urlFor('install.sh'));
    expect(text.headers.get('content-length')).toBe(String(Buffer.byteLength(installScript())));
    expect(await text.text()).toBe(installScript());
    const missing = await fetch(server.urlFor('/nope'));
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
    const post = await fetch(server.urlFor('/install.sh'), { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    await post.arrayBuffer();
  });

  it('lets a host curl the install script and the tarball intact', async () => {
    const want = await sha256File(dockerTgz);
    const r = await sh(
      `curl -fsS -o /tmp/docker.tgz ${server.urlFor('/docker.tgz')} && sha256sum /tmp/docker.tgz | cut -d' ' -f1 && ` +
        `curl -fsS ${server.urlFor('/install.sh')} | sha256sum | cut -d' ' -f1 && ` +
        `curl -sS -o /dev/null -w '%{http_code}\\n' ${server.urlFor('/missing')}`,
      2 * MIN,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([want, createHash('sha256').update(installScript()).digest('hex'), '404']);
  }, 3 * MIN);

  it('unpacks the tarball on the host, whose libraries satisfy every binary', async () => {
    const r = await sh(
      'set -e; rm -rf /tmp/x; mkdir -p /tmp/x; tar -xzf /tmp/docker.tgz -C /tmp/x; ' +
        'for b in /tmp/x/docker/*; do if ldd "$b" 2>&1 | grep "not found"; then echo "MISSING LIBRARY in $b"; fi; done; ' +
        '/tmp/x/docker/dockerd --version; /tmp/x/docker/docker --version; /tmp/x/docker/containerd --version; ' +
        '/tmp/x/docker/ctr --version; /tmp/x/docker/runc --version | head -1; /tmp/x/docker/docker-init --version',
    );
    expect(r.stdout).not.toMatch(/MISSING LIBRARY/);
    expect(r.exitCode).toBe(0);
    const out = r.stdout.trim().split('\n');
    expect(out[0]).toMatch(/^Docker version \d+\.\d+\.\d+/);
    expect(out.join('\n')).toMatch(/containerd/);
    expect(out.join('\n')).toMatch(/runc version/);
    expect(out.join('\n')).toMatch(/tini version/);
  }, 2 * MIN);

  it("runs a container with the tarball's dockerd on a host without docker.io", async () => {
    // Without iptables (the image has none, and Docker's tarballs do not carry it either) and
    // without a bridge; vfs, since /tmp is on the container's overlay root.
    const start =
      'set -e; export PATH=/tmp/x/docker:$PATH; ' +
      'curl -fsS -o /tmp/busybox.tar ' + server.urlFor('/busybox.tar') + '; ' +
      'nohup dockerd --iptables=false --bridge=none --storage-driver=vfs --data-root /tmp/dd --exec-root /tmp/de ' +
      '--pidfile /tmp/dd.pid -H unix:///tmp/dd.sock >/tmp/dd.log 2>&1 </dev/null & ' +
      'for i in $(seq 1 120); do docker -H unix:///tmp/dd.sock version >/dev/null 2>&1 && break; sleep 0.25; done; ' +
      'docker -H unix:///tmp/dd.sock version --format "{{.Server.Version}}"; ' +
      'docker -H unix:///tmp/dd.sock import --change \'CMD ["sh"]\' /tmp/busybox.tar bb:t >/dev/null; ' +
      'docker -H unix:///tmp/dd.sock run --rm --init --network none bb:t sh -c "echo ran in busybox; cat /proc/1/comm"';
    const t0 = Date.now();
    const r = await sh(start, 3 * MIN);
    const stop = await sh('kill $(cat /tmp/dd.pid) 2>/dev/null; for i in $(seq 1 40); do [ -e /tmp/dd.pid ] || break; sleep 0.25; done; rm -rf /tmp/dd /tmp/de', MIN);
    if (r.exitCode !== 0) console.log((await sh('tail -40 /tmp/dd.log')).stdout);
    console.log(`[bed-artifacts] tarball dockerd up and container run in ${secs(t0)}`);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^\d+\.\d+\.\d+/), 'ran in busybox', 'docker-init']);
    expect(stop.exitCode).toBe(0);
  }, 4 * MIN);

  it('rejects a system without apt-get with a clear message', async () => {
    const r = await sh(
      'mkdir -p /tmp/noapt && ln -sf /usr/bin/id /tmp/noapt/id && ' +
        `curl -fsS ${server.urlFor('/install.sh')} | PATH=/tmp/noapt /bin/sh; echo "exit=$?"`,
    );
    expect(r.stdout.trim().split('\n').pop()).toBe('exit=1');
    expect(r.stderr).toMatch(/unsupported distribution 'debian'.*apt-get/);
  });

  it('installs docker.io with the install script, through sudo as tester', async () => {
    const t0 = Date.now();
    const r = await sshExec(
      host,
      'tester',
      key.privateKeyPath,
      `curl -fsSL ${server.urlFor('/install.sh')} -o /tmp/install.sh && sh /tmp/install.sh >/tmp/install.log 2>&1 || { tail -40 /tmp/install.log; exit 1; }; ` +
        'systemctl is-active docker; sudo -n docker version --format "{{.Server.Version}}"',
      { timeoutMs: 8 * MIN },
    );
    console.log(`[bed-artifacts] install script run on ${host.name} in ${secs(t0)}`);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['active', expect.stringMatching(/^\d+\.\d+\.\d+/)]);
  }, 10 * MIN);
});
