/**
 * Small process, lock and path helpers shared by the test bed (test/bed/*).
 *
 * Test infrastructure only: nothing under src/ may import this. It uses node:child_process
 * directly so that the bed works before and independently of the product's exec seam.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Root of everything the bed caches or logs: `TSM_TESTBED_CACHE`, default /var/cache/tsm-testbed. */
export function cacheDir(): string {
  const dir = process.env.TSM_TESTBED_CACHE || '/var/cache/tsm-testbed';
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit status; 128+N when killed by signal N-ish, -1 when the process could not be spawned. */
  exitCode: number;
}

export interface RunOptions {
  /** Written to the child's stdin, which is then closed. Without it stdin is /dev/null. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the child (SIGKILL) after this long; the result then has exitCode 124 like timeout(1). */
  timeoutMs?: number;
  /** Cap on captured output per stream, in bytes (the tail is kept). Default 8 MiB. */
  maxBuffer?: number;
}

/**
 * Runs a command without a shell and collects its output. Never throws for a non-zero exit
 * (see runOk); a spawn failure (ENOENT) is reported as exitCode -1 with the error in stderr.
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const maxBuffer = opts.maxBuffer ?? 8 * 1024 * 1024;
  return new Promise((resolve) => {
    const child = spawn(cmd, [...args], {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    let settled = false;
    const keep = (chunks: Buffer[], len: number, chunk: Buffer): number => {
      chunks.push(chunk);
      len += chunk.length;
      while (len > maxBuffer && chunks.length > 1) len -= chunks.shift()!.length;
      return len;
    };
    child.stdout!.on('data', (c: Buffer) => (outLen = keep(out, outLen, c)));
    child.stderr!.on('data', (c: Buffer) => (errLen = keep(err, errLen, c)));
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    const finish = (r: RunResult): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve(r);
    };
    child.on('error', (e) => finish({ stdout: '', stderr: String(e), exitCode: -1 }));
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      let stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) stderr += `\n[test bed] ${cmd} killed after ${opts.timeoutMs} ms`;
      finish({ stdout, stderr, exitCode: timedOut ? 124 : (code ?? (signal ? 128 + 9 : -1)) });
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined); // EPIPE when the child exits early
      child.stdin!.end(opts.input);
    }
  });
}

/** Like run(), but throws (with the command, status and stderr tail) unless the exit status is 0. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.exitCode !== 0) {
    throw new Error(
      `[test bed] \`${[cmd, ...args].join(' ')}\` exited with ${r.exitCode}:\n${tail(r.stderr || r.stdout, 40)}`,
    );
  }
  return r;
}

/** Last `lines` lines of a text. */
export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `fn` while holding an exclusive, cross-process lock named `name` (a file under
 * `<cache>/locks/`).
 *
 * The lock is a kernel flock(2) held by a `flock` child process (util-linux, Essential on
 * Debian) whose stdin is a pipe from this process: closing the pipe releases it, and so does
 * this process dying for any reason (the kernel closes the pipe, `cat` sees EOF, `flock`
 * exits). So there is no stale-lock heuristic to get wrong. Different callers in the same
 * process also exclude each other (each gets its own open file description).
 */
export async function withLock<T>(name: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const dir = join(cacheDir(), 'locks');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.lock`);
  const secs = Math.max(1, Math.ceil(timeoutMs / 1000));
  const child = spawn('flock', ['--exclusive', '--wait', String(secs), file, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin!.on('error', () => undefined);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => resolve(code));
    child.on('error', (e) => {
      stderr += String(e);
      resolve(-1);
    });
  });
  const acquired = await new Promise<boolean>((resolve) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      if (buf.includes('locked')) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  if (!acquired) {
    const code = await exited;
    throw new Error(
      `[test bed] could not take lock ${file} within ${secs} s (flock exited ${code})${stderr ? `: ${stderr.trim()}` : ''}`,
    );
  }
  try {
    return await fn();
  } finally {
    child.stdin!.end();
    await exited;
  }
}
