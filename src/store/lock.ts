/**
 * Inter-process locks, the one helper for the store, the machines and the image cache,
 * so that concurrent tsm processes never corrupt or lose a record or download twice.
 * proper-lockfile (atomic mkdir, with mtime refresh and stale-lock recovery after a
 * crash) does the work; it is imported lazily because read-only commands never lock.
 *
 * Store locks live in `<root>/locks/`, not beside the machine directories, so a lock can
 * never be mistaken for a machine (`x.lock` is a valid machine name).
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { abortError, sleep } from "../model/abort.js";
import { TsmError } from "../model/errors.js";

export interface LockOptions {
  /** Aborting stops the wait at once (InterruptedError, or the signal's TsmError reason). */
  signal?: AbortSignal;
  /** How long to wait for another holder before giving up with LOCKED; default 120 s. Infinity waits until aborted. */
  waitMs?: number;
  /** Called once, when another holder makes us wait. */
  onWait?: () => void;
  /** A lock whose holder stopped refreshing it this long ago is taken over; default 10 s. */
  staleMs?: number;
  /**
   * Whether losing the lock while holding it (a process suspended past staleMs) is
   * harmless: true where correctness does not rest on the lock (content-addressed files
   * that appear by atomic rename). Otherwise proper-lockfile's default applies.
   */
  tolerateCompromise?: boolean;
  /** Turns a failure to take the lock (other than it being held) into tsm's error; default rethrows. */
  lockFailure?: (lockfile: string, err: unknown) => unknown;
  /** What the waiter waits for, in the interrupted message ("waiting for <what>"). */
  what?: string;
}

/** Runs `fn` while holding `<locksDir>/<lockName>.lock`; always releases it. */
export async function withLock<T>(locksDir: string, lockName: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lockfile = await import("proper-lockfile");
  await mkdir(locksDir, { recursive: true, mode: 0o700 });
  const target = path.join(locksDir, lockName);
  const waitMs = options.waitMs ?? 120_000;
  const what = options.what ?? `another tsm process (lock ${lockName})`;
  const started = Date.now();
  let release: (() => Promise<void>) | undefined;
  let waited = false;
  while (release === undefined) {
    if (options.signal?.aborted) throw abortError(options.signal, `waiting for ${what}`);
    try {
      release = await lockfile.lock(target, {
        realpath: false,
        stale: options.staleMs ?? 10_000,
        lockfilePath: `${target}.lock`,
        retries: 0,
        ...(options.tolerateCompromise ? { onCompromised: () => undefined } : {}),
      });
    } catch (err) {
      if ((err as { code?: string }).code !== "ELOCKED") throw options.lockFailure ? options.lockFailure(`${target}.lock`, err) : err;
      if (Date.now() - started > waitMs) {
        throw new TsmError("LOCKED", `Timed out waiting for another tsm process (lock ${lockName})`, { cause: err });
      }
      if (!waited) {
        waited = true;
        options.onWait?.();
      }
      await sleep(15 + Math.random() * 50, options.signal, `waiting for ${what}`);
    }
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

export const storeLockName = "store";
export const machineLockName = (name: string) => `machine-${name}`;
