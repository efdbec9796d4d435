/**
 * Inter-process locks, so that concurrent tsm processes never corrupt or lose a
 * record. proper-lockfile (atomic mkdir, with mtime refresh and stale-lock
 * recovery after a crash) does the work; it is imported lazily because read-only
 * commands never lock.
 *
 * Lock directories live in `<root>/locks/`, not beside the machine directories,
 * so a lock can never be mistaken for a machine (`x.lock` is a valid machine name).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { TsmError } from "../model/errors.js";

export interface LockOptions {
  /** How long to wait for a lock held by another process before giving up. */
  waitMs?: number;
}

const STALE_MS = 10_000;

/** Runs `fn` while holding the named lock; always releases it. */
export async function withLock<T>(locksDir: string, lockName: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lockfile = await import("proper-lockfile");
  mkdirSync(locksDir, { recursive: true, mode: 0o700 });
  const target = path.join(locksDir, lockName);
  const waitMs = options.waitMs ?? 120_000;
  const started = Date.now();
  let release: (() => Promise<void>) | undefined;
  for (;;) {
    try {
      release = await lockfile.lock(target, {
        realpath: false,
        stale: STALE_MS,
        lockfilePath: `${target}.lock`,
        retries: 0,
      });
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== "ELOCKED") throw err;
      if (Date.now() - started > waitMs) {
        throw new TsmError("LOCKED", `Timed out waiting for another tsm process (lock ${lockName})`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 15 + Math.random() * 35));
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
