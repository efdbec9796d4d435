/**
 * SSH test hosts: containers of a bed image (images.ts) that behave like real servers —
 * systemd as PID 1, sshd on port 22 of their own address, a Docker Engine can run inside,
 * and (with restartUnlessStopped) `systemctl reboot` comes back on the same address.
 *
 * Contract of startHost(): when it resolves, the container runs, the given public key is in
 * the authorized_keys of root, tester and nosudo, and sshd on `ip:22` has sent its banner.
 * Hosts sit on the bridge network `tsm-testbed` with a fixed address (`--ip`), which is what
 * keeps the address across reboots even when other hosts start meanwhile. Every host is named
 * `tsm-test-*` and labelled `tsm.testbed=1`; stop() or stopAllTestHosts() removes it with its
 * volumes, and hosts this process started but did not stop are removed when it exits.
 * Set TSM_TESTBED_KEEP=1 to keep hosts for debugging (stop() and the exit hook then only log).
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { docker, dockerEnv, dockerOk, ensureDockerd } from './dockerd.js';
import { run, sleep, tail, withLock, type RunResult } from './util.js';

export const TEST_HOST_PREFIX = 'tsm-test-';
export const TEST_NETWORK = 'tsm-testbed';
/** Users present on bed images: root, one with passwordless sudo, one without sudo. */
export const TEST_USERS = { root: 'root', sudoer: 'tester', nosudo: 'nosudo' } as const;

export interface StartHostOptions {
  /** Image tag, normally from ensureImage(). */
  image: string;
  /** Readable part of the container name: `tsm-test-<name>-<random>`. Also the hostname. */
  name?: string;
  /** Run /sbin/init (systemd) as PID 1. Default true. False: sshd alone (under docker-init). */
  systemd?: boolean;
  /** Give /var/lib/docker its own anonymous volume so an inner Docker Engine can use overlay2. Default true. */
  dind?: boolean;
  /** One OpenSSH public key line, installed for root, tester and nosudo. */
  authorizedKey?: string;
  /** `--restart unless-stopped`: a reboot inside the host restarts the container (like a reboot). */
  restartUnlessStopped?: boolean;
  /** How long to wait for the SSH banner. Default 90 s. */
  sshTimeoutMs?: number;
}

export interface ExecOptions {
  input?: string;
  user?: string;
  timeoutMs?: number;
}

export interface TestHost {
  name: string;
  containerId: string;
  ip: string;
  sshPort: 22;
  /** Removes the container and its volumes. Idempotent. */
  stop(): Promise<void>;
  /** `docker exec` (no shell unless you pass one). Never throws for a non-zero exit. */
  exec(cmd: string[], opts?: ExecOptions): Promise<{ stdout: string; stderr: string; exitCode: number }>;
  /** `docker logs`, plus the systemd journal of the current boot for systemd hosts. */
  logs(): Promise<string>;
  /** Waits until sshd sends its banner again (e.g. after a reboot). */
  waitForSsh(timeoutMs?: number): Promise<void>;
}

/** Names started by this process and not yet stopped: removed by the exit hook. */
const live = new Set<string>();
let exitHookInstalled = false;

function keep(): boolean {
  return process.env.TSM_TESTBED_KEEP === '1' || process.env.TSM_TESTBED_KEEP === 'true';
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    if (live.size === 0) return;
    if (keep()) {
      process.stderr.write(`[test bed] TSM_TESTBED_KEEP: leaving ${[...live].join(' ')}\n`);
      return;
    }
    try {
      execFileSync('docker', ['rm', '-f', '-v', ...live], { env: dockerEnv(), stdio: 'ignore', timeout: 30_000 });
    } catch {
      /* best effort at exit */
    }
  });
}

export async function startHost(opts: StartHostOptions): Promise<TestHost> {
  await ensureDockerd();
  const systemd = opts.systemd ?? true;
  const dind = opts.dind ?? true;
  if (opts.authorizedKey !== undefined && !/^[a-z0-9@.-]+ [A-Za-z0-9+/=]+( [^\n]*)?$/.test(opts.authorizedKey.trim())) {
    throw new Error('[test bed] authorizedKey must be a single OpenSSH public key line');
  }
  const label = (opts.name ?? 'host').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 30) || 'host';
  const name = `${TEST_HOST_PREFIX}${label}-${randomBytes(3).toString('hex')}`;
  const subnet = await ensureNetwork();

  const args = ['run', '--detach', '--name', name, '--hostname', name.slice(TEST_HOST_PREFIX.length)];
  args.push('--label', 'tsm.testbed=1', '--network', TEST_NETWORK);
  // The options TESTBED.md found to work here: --privileged fails (the kernel withholds
  // CAP_SYS_RESOURCE), so every other capability and no seccomp/apparmor/masked paths.
  args.push('--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE');
  args.push('--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined');
  args.push('--security-opt', 'systempaths=unconfined');
  // /run as on a real server (docker's tmpfs default adds noexec); /run/lock as systemd expects.
  args.push('--tmpfs', '/run:exec,mode=755', '--tmpfs', '/run/lock');
  if (dind) args.push('--volume', '/var/lib/docker');
  if (systemd) {
    args.push('--cgroupns', 'host', '--volume', '/sys/fs/cgroup:/sys/fs/cgroup:rw');
    args.push('--stop-signal', 'SIGRTMIN+3'); // systemd's "halt": docker stop shuts down cleanly
  } else {
    args.push('--init'); // reap zombies: sshd is not an init
  }
  if (opts.restartUnlessStopped) args.push('--restart', 'unless-stopped');

  const cmd = systemd
    ? ['/sbin/init']
    : ['/bin/sh', '-c', 'ssh-keygen -A >/dev/null && mkdir -p -m 0755 /run/sshd && exec /usr/sbin/sshd -D -e'];

  installExitHook();
  let ip = '';
  let containerId = '';
  for (let attempt = 1; ; attempt++) {
    ip = pickAddress(subnet);
    live.add(name);
    const res = await docker([...args, '--ip', ip, opts.image, ...cmd], { timeoutMs: 120_000 });
    if (res.exitCode === 0) {
      containerId = res.stdout.trim();
      break;
    }
    // A failed `docker run` can leave a created container behind.
    await docker(['rm', '-f', '-v', name]);
    live.delete(name);
    if (/address already in use|already (allocated|in use)/i.test(res.stderr) && attempt < 20) continue;
    throw new Error(`[test bed] docker run for ${name} failed:\n${tail(res.stderr, 20)}`);
  }

  const host: TestHost = {
    name,
    containerId,
    ip,
    sshPort: 22,
    async stop() {
      if (keep()) {
        process.stderr.write(`[test bed] TSM_TESTBED_KEEP: leaving ${name} (${ip})\n`);
        live.delete(name);
        return;
      }
      const r = await docker(['rm', '-f', '-v', name], { timeoutMs: 60_000 });
      if (r.exitCode !== 0 && !/no such container/i.test(r.stderr)) {
        throw new Error(`[test bed] could not remove ${name}: ${r.stderr.trim()}`);
      }
      live.delete(name);
    },
    async exec(command, eo = {}) {
      const a = ['exec'];
      if (eo.input !== undefined) a.push('--interactive');
      if (eo.user) a.push('--user', eo.user);
      a.push(name, ...command);
      const r = await docker(a, { input: eo.input, timeoutMs: eo.timeoutMs });
      return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
    },
    async logs() {
      const r = await docker(['logs', '--tail', '500', name]);
      let text = r.stdout + r.stderr;
      if (systemd) {
        const j = await docker(['exec', name, 'journalctl', '-b', '--no-pager', '-n', '300'], { timeoutMs: 20_000 });
        text += `\n--- journal of ${name} (current boot) ---\n${j.stdout}${j.stderr}`;
      }
      return text;
    },
    async waitForSsh(timeoutMs = opts.sshTimeoutMs ?? 90_000) {
      await waitForBanner(host, timeoutMs);
    },
  };

  try {
    if (opts.authorizedKey !== undefined) await installAuthorizedKey(host, opts.authorizedKey.trim());
    await host.waitForSsh();
  } catch (e) {
    const logs = await host.logs().catch(() => '');
    await host.stop().catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- logs of ${name} ---\n${tail(logs, 60)}`, { cause: e });
  }
  return host;
}

/** Writes `key` as the only authorized key of every bed user present in the host. */
async function installAuthorizedKey(host: TestHost, key: string): Promise<void> {
  const script = `set -eu
key=$(cat)
for u in ${Object.values(TEST_USERS).join(' ')}; do
  id -u "$u" >/dev/null 2>&1 || continue
  h=$(getent passwd "$u" | cut -d: -f6)
  g=$(id -gn "$u")
  install -d -m 0700 -o "$u" -g "$g" "$h/.ssh"
  printf '%s\\n' "$key" >"$h/.ssh/authorized_keys"
  chown "$u:$g" "$h/.ssh/authorized_keys"
  chmod 0600 "$h/.ssh/authorized_keys"
done
`;
  // The container may still be coming up: docker exec can briefly fail right after `run`.
  let last: RunResult | undefined;
  for (let i = 0; i < 20; i++) {
    const r = await host.exec(['/bin/sh', '-c', script], { input: key, timeoutMs: 30_000 });
    if (r.exitCode === 0) return;
    last = r;
    await sleep(250);
  }
  throw new Error(`[test bed] could not install the authorized key in ${host.name}: ${last?.stderr.trim()}`);
}

/** Resolves when `ip:22` accepts a connection and sends an `SSH-` banner; throws at the deadline. */
async function waitForBanner(host: TestHost, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no attempt';
  for (let i = 0; Date.now() < deadline; i++) {
    const r = await readBanner(host.ip, host.sshPort, Math.min(3000, Math.max(500, deadline - Date.now())));
    if (r.ok) return;
    lastError = r.error;
    if (i % 8 === 7) {
      // Fail fast if the container is gone for good (no restart pending).
      const s = await docker(['inspect', '--format', '{{.State.Status}} {{.State.Restarting}} {{.HostConfig.RestartPolicy.Name}}', host.name]);
      const [status, restarting, policy] = s.stdout.trim().split(' ');
      if (s.exitCode !== 0) throw new Error(`[test bed] ${host.name} no longer exists`);
      if ((status === 'exited' || status === 'dead') && restarting !== 'true' && policy !== 'unless-stopped' && policy !== 'always') {
        throw new Error(`[test bed] ${host.name} exited before SSH answered`);
      }
    }
    await sleep(250);
  }
  throw new Error(`[test bed] SSH on ${host.name} (${host.ip}:22) did not answer within ${timeoutMs / 1000} s: ${lastError}`);
}

function readBanner(ip: string, port: number, timeoutMs: number): Promise<{ ok: true } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const sock = connect({ host: ip, port });
    let buf = '';
    const done = (r: { ok: true } | { ok: false; error: string }): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, error: buf ? `partial banner ${JSON.stringify(buf)}` : 'timeout' }), timeoutMs);
    sock.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      if (buf.includes('\n')) {
        done(buf.startsWith('SSH-') ? { ok: true } : { ok: false, error: `unexpected banner ${JSON.stringify(buf.slice(0, 80))}` });
      }
    });
    sock.on('error', (e) => done({ ok: false, error: e.message }));
    sock.on('close', () => done({ ok: false, error: buf ? `closed after ${JSON.stringify(buf)}` : 'closed' }));
  });
}

/**
 * Removes every `tsm-test-*` container (running or not) with its volumes, whoever started it.
 * For global teardown and CI; concurrent test files lose their hosts, so do not call it from
 * one file while others run.
 */
export async function stopAllTestHosts(): Promise<void> {
  await ensureDockerd();
  const r = await dockerOk(['ps', '--all', '--quiet', '--filter', `name=^${TEST_HOST_PREFIX}`]);
  const ids = r.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  if (ids.length > 0) await dockerOk(['rm', '-f', '-v', ...ids], { timeoutMs: 120_000 });
  live.clear();
}

// ---------------------------------------------------------------------------------------------
// network and addresses

/** Subnets tried for the bed network, in order, unless TSM_TESTBED_SUBNET is set. */
const CANDIDATE_SUBNETS = ['172.30.0.0/16', '172.29.0.0/16', '10.213.0.0/16', '192.168.213.0/24'];

/** Makes sure the user-defined bridge network exists (a subnet is needed for --ip); returns its subnet. */
export async function ensureNetwork(): Promise<string> {
  const existing = await networkSubnet();
  if (existing) return existing;
  return withLock('network', 60_000, async () => {
    const again = await networkSubnet();
    if (again) return again;
    const candidates = process.env.TSM_TESTBED_SUBNET ? [process.env.TSM_TESTBED_SUBNET] : CANDIDATE_SUBNETS;
    const errors: string[] = [];
    const routes = hostRoutes();
    for (const subnet of candidates) {
      // Docker checks an explicit --subnet only against its own networks, not against the
      // host's routes: a leftover bridge (e.g. from a wiped /var/lib/docker) with the same
      // subnet would silently swallow the traffic to our hosts.
      const clash = routes.find((r) => cidrsOverlap(r.cidr, subnet));
      if (clash && !process.env.TSM_TESTBED_SUBNET) {
        errors.push(`${subnet}: overlaps the host route ${clash.cidr} on ${clash.iface}`);
        continue;
      }
      const r = await docker(['network', 'create', '--driver', 'bridge', '--subnet', subnet, '--label', 'tsm.testbed=1', TEST_NETWORK]);
      if (r.exitCode === 0) return subnet;
      errors.push(`${subnet}: ${r.stderr.trim()}`);
    }
    throw new Error(`[test bed] could not create network ${TEST_NETWORK}:\n${errors.join('\n')}`);
  });
}

async function networkSubnet(): Promise<string | undefined> {
  const r = await docker(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', TEST_NETWORK]);
  if (r.exitCode !== 0) return undefined;
  const v4 = r.stdout.trim().split(/\s+/).find((s) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s));
  if (!v4) throw new Error(`[test bed] network ${TEST_NETWORK} exists but has no IPv4 subnet: ${r.stdout.trim()}`);
  return v4;
}

/** The host's IPv4 routes except the default one, from /proc/net/route. */
export function hostRoutes(text?: string): Array<{ iface: string; cidr: string }> {
  let t = text;
  if (t === undefined) {
    try {
      t = readFileSync('/proc/net/route', 'utf8');
    } catch {
      return [];
    }
  }
  const out: Array<{ iface: string; cidr: string }> = [];
  for (const line of t.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    // Destination and Mask are little-endian hex.
    const le = (h: string): number => Buffer.from(h, 'hex').readUInt32LE(0);
    const dest = le(f[1]!);
    const mask = le(f[7]!);
    if (mask === 0) continue;
    const bits = mask.toString(2).replace(/0/g, '').length;
    out.push({ iface: f[0]!, cidr: `${[24, 16, 8, 0].map((s) => (dest >>> s) & 0xff).join('.')}/${bits}` });
  }
  return out;
}

function parseCidr(cidr: string): { base: number; bits: number } {
  const [addr, bitsText] = cidr.split('/');
  return { base: addr!.split('.').reduce((a, o) => ((a << 8) + Number(o)) >>> 0, 0), bits: Number(bitsText) };
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  const bits = Math.min(x.bits, y.bits);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((x.base & mask) >>> 0) === ((y.base & mask) >>> 0);
}

/** A random host address in an IPv4 subnet: not the network, the gateway (.1) or x.x.x.0/255. */
export function pickAddress(subnet: string): string {
  const { base, bits } = parseCidr(subnet);
  if (!(bits >= 8 && bits <= 29)) throw new Error(`[test bed] unsupported subnet ${subnet}`);
  const size = 2 ** (32 - bits);
  for (;;) {
    const off = 2 + Math.floor(Math.random() * (size - 3));
    const ip = (base + off) >>> 0;
    const last = ip & 0xff;
    if (last === 0 || last === 255) continue;
    return [24, 16, 8, 0].map((s) => (ip >>> s) & 0xff).join('.');
  }
}

// ---------------------------------------------------------------------------------------------
// keys and ssh

export interface TestKeyPair {
  privateKeyPath: string;
  publicKeyPath: string;
  /** The OpenSSH public key line, without a trailing newline. */
  publicKey: string;
}

/**
 * Writes an unencrypted ed25519 key pair as `<dir>/id_ed25519` (0600) and `.pub`.
 * Uses ssh-keygen when present, else node:crypto with the OpenSSH private key format written
 * by hand (both are read by OpenSSH and by ssh2). `method` forces one (tests of the fallback).
 */
export async function generateTestKeyPair(
  dir: string,
  opts: { method?: 'ssh-keygen' | 'node'; comment?: string } = {},
): Promise<TestKeyPair> {
  mkdirSync(dir, { recursive: true });
  const privateKeyPath = join(dir, 'id_ed25519');
  const publicKeyPath = `${privateKeyPath}.pub`;
  const comment = opts.comment ?? 'tsm-testbed';
  if (opts.method !== 'node') {
    const r = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', privateKeyPath], { input: 'y\n' });
    if (r.exitCode === 0) {
      return { privateKeyPath, publicKeyPath, publicKey: readFileSync(publicKeyPath, 'utf8').trim() };
    }
    if (opts.method === 'ssh-keygen') throw new Error(`[test bed] ssh-keygen failed: ${r.stderr.trim()}`);
  }
  const { privatePem, publicKey } = opensshEd25519(comment);
  writeFileSync(privateKeyPath, privatePem, { mode: 0o600 });
  chmodSync(privateKeyPath, 0o600);
  writeFileSync(publicKeyPath, `${publicKey}\n`, { mode: 0o644 });
  return { privateKeyPath, publicKeyPath, publicKey };
}

/** A new ed25519 key in OpenSSH's "openssh-key-v1" private format (cipher none) and its public line. */
function opensshEd25519(comment: string): { privatePem: string; publicKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const str = (b: Buffer | string): Buffer => {
    const data = typeof b === 'string' ? Buffer.from(b) : b;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    return Buffer.concat([len, data]);
  };
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const pubBlob = Buffer.concat([str('ssh-ed25519'), str(pub)]);
  const check = randomBytes(4);
  let priv = Buffer.concat([check, check, str('ssh-ed25519'), str(pub), str(Buffer.concat([seed, pub])), str(comment)]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), str('none'), str('none'), str(''), u32(1), str(pubBlob), str(priv)]);
  const b64 = body.toString('base64').replace(/(.{70})/g, '$1\n').replace(/\n$/, '');
  return {
    privatePem: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${pubBlob.toString('base64')} ${comment}`,
  };
}

/**
 * Runs `command` on a host with the OpenSSH client (batch mode, no host key checking or
 * recording). Never throws for a non-zero exit; 255 means ssh itself failed.
 */
export function sshExec(
  target: { ip: string; sshPort?: number },
  user: string,
  privateKeyPath: string,
  command: string,
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return run(
    'ssh',
    [
      '-i', privateKeyPath,
      '-p', String(target.sshPort ?? 22),
      '-o', 'BatchMode=yes',
      '-o', 'IdentitiesOnly=yes',
      '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'LogLevel=ERROR',
      '-o', 'ConnectTimeout=10',
      `${user}@${target.ip}`,
      command,
    ],
    { timeoutMs: opts.timeoutMs ?? 60_000, input: opts.input },
  );
}
