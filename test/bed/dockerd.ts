/**
 * The local Docker Engine that hosts the test bed (test-host containers, images).
 *
 * Contract: after `await ensureDockerd()`, the engine at DOCKER_SOCKET answers. If nothing
 * answers there, `dockerd` (Debian's docker.io) is started detached, logging to
 * `<cache>/dockerd.log`, and deliberately left running when the test process exits: it is
 * shared by every test file of a run (and by later runs on a dev machine), and CI machines are
 * thrown away afterwards. Stop it by hand with `kill $(cat /var/run/docker.pid)`.
 *
 * All docker CLI calls of the bed go through `docker()`/`dockerOk()`, which pin the client to
 * DOCKER_SOCKET: tests `eval "$(tsm env NAME)"` into process.env, and the bed must never send
 * its own commands to a machine under test.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { cacheDir, run, runOk, sleep, tail, withLock, type RunOptions, type RunResult } from './util.js';

export const DOCKER_SOCKET = '/var/run/docker.sock';
const DOCKER_PIDFILE = '/var/run/docker.pid';

/** The environment for the docker CLI: the caller's, minus anything that points it elsewhere. */
export function dockerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_CONTEXT', 'DOCKER_MACHINE_NAME']) {
    delete env[k];
  }
  env.DOCKER_HOST = `unix://${DOCKER_SOCKET}`;
  // Debian's dockerd, containerd, runc and iptables live in sbin directories.
  env.PATH = withSbin(env.PATH);
  return env;
}

function withSbin(path: string | undefined): string {
  const parts = (path ?? '/usr/local/bin:/usr/bin:/bin').split(':');
  for (const p of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!parts.includes(p)) parts.push(p);
  return parts.join(':');
}

/** Runs the docker CLI against the bed's engine. Never throws for a non-zero exit. */
export function docker(args: readonly string[], opts: Omit<RunOptions, 'env'> = {}): Promise<RunResult> {
  return run('docker', args, { ...opts, env: dockerEnv() });
}

/** Runs the docker CLI against the bed's engine; throws with stderr unless it exits 0. */
export function dockerOk(args: readonly string[], opts: Omit<RunOptions, 'env'> = {}): Promise<RunResult> {
  return runOk('docker', args, { ...opts, env: dockerEnv() });
}

/** True when the engine at `socket` answers GET /_ping with 200 "OK" within `timeoutMs`. */
export function pingDocker(socket = DOCKER_SOCKET, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    if (!existsSync(socket)) return resolve(false);
    const req = request({ socketPath: socket, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Path of the log file of a dockerd started by the bed. */
export function dockerdLogPath(): string {
  return join(cacheDir(), 'dockerd.log');
}

let pending: Promise<void> | undefined;

/**
 * Makes sure a Docker Engine answers on DOCKER_SOCKET, starting `dockerd` if needed.
 * Idempotent; concurrent callers in this process share one attempt, and callers in other
 * processes (vitest workers, other test runs) are serialised by a lock, so only one dockerd is
 * ever started. Throws with the tail of the daemon's log if it does not answer in time.
 */
export function ensureDockerd(opts: { timeoutMs?: number } = {}): Promise<void> {
  pending ??= startIfNeeded(opts.timeoutMs ?? 60_000).then(warnIfNoDefaultBridge, (e: unknown) => {
    pending = undefined; // let a later call try again
    throw e;
  });
  return pending;
}

async function startIfNeeded(timeoutMs: number): Promise<void> {
  if (await pingDocker()) return;
  await withLock('dockerd', timeoutMs + 30_000, async () => {
    if (await pingDocker()) return; // another process started it while we waited
    const deadline = Date.now() + timeoutMs;
    const running = runningDockerdPid();
    if (running !== undefined) {
      // Started by someone else (e.g. .ci/run) and still initialising: wait, do not start a second.
      if (await waitForPing(deadline, () => isAlive(running))) return;
      throw new Error(
        `[test bed] dockerd (pid ${running}) is running but ${DOCKER_SOCKET} did not answer within ${timeoutMs / 1000} s`,
      );
    }
    const log = dockerdLogPath();
    const fd = openSync(log, 'a');
    writeSync(fd, `\n==== ${new Date().toISOString()} tsm test bed starting dockerd ====\n`);
    const extra = (process.env.TSM_TESTBED_DOCKERD_ARGS ?? '').split(/\s+/).filter(Boolean);
    // Debian's defaults work on these machines (overlay2, docker0, iptables); the socket and
    // pidfile are named so that the checks above look at the same places.
    const args = ['--host', `unix://${DOCKER_SOCKET}`, '--pidfile', DOCKER_PIDFILE, ...extra];
    const env = dockerEnv();
    delete env.DOCKER_HOST;
    let exit = undefined as string | undefined;
    const child = spawn('dockerd', args, {
      detached: true, // own process group: survives the test worker and its signals
      stdio: ['ignore', fd, fd],
      env,
    });
    child.on('error', (e) => (exit = String(e)));
    child.on('exit', (code, signal) => (exit = `exited with ${code ?? signal}`));
    child.unref();
    closeSync(fd);
    if (await waitForPing(deadline, () => exit === undefined)) return;
    if (exit === undefined) child.kill('SIGTERM'); // hung: do not leave a half-started daemon
    let logTail = '';
    try {
      logTail = tail(readFileSync(log, 'utf8'), 30);
    } catch {
      /* no log */
    }
    throw new Error(
      `[test bed] dockerd ${exit ?? `did not answer on ${DOCKER_SOCKET} within ${timeoutMs / 1000} s`}` +
        ` (log: ${log}):\n${logTail}`,
    );
  });
}

/**
 * Another dockerd started with `--bridge=none` (even with its own data and exec roots) deletes
 * the host's docker0, which breaks every container on the shared engine's default bridge until
 * that engine restarts. The bed's hosts use their own network and keep working, so this only
 * warns, with the fix.
 */
function warnIfNoDefaultBridge(): void {
  if (existsSync('/sys/class/net') && !existsSync('/sys/class/net/docker0')) {
    process.stderr.write(
      '[test bed] warning: the docker0 interface is missing (a dockerd started with --bridge=none deletes it); ' +
        'containers on the default bridge will fail until dockerd restarts: kill $(cat /var/run/docker.pid)\n',
    );
  }
}

/** Polls the socket until it answers (true), the deadline passes or `alive()` turns false (false). */
async function waitForPing(deadline: number, alive: () => boolean): Promise<boolean> {
  while (Date.now() < deadline) {
    if (await pingDocker(DOCKER_SOCKET, 1000)) return true;
    if (!alive()) return (await pingDocker(DOCKER_SOCKET, 1000));
    await sleep(200);
  }
  return false;
}

/** The pid in dockerd's pidfile if that process is alive and is a dockerd. */
function runningDockerdPid(): number | undefined {
  try {
    const pid = Number(readFileSync(DOCKER_PIDFILE, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    return comm === 'dockerd' ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True for a live process; false for no process or a zombie (which kill(pid, 0) still finds). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/PID/stat: "pid (comm) S ..."; comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
