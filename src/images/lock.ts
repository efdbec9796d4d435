/**
 * Locks inside the image cache (`<cacheDir>/locks/<name>.lock`), through the one lock
 * helper (src/store/lock.ts), but waiting without a deadline and giving up on abort: a
 * download held by another process may take much longer than a record write, and Ctrl-C
 * must still stop the waiter at once. The lock of a process that died is taken over at once;
 * that of a live one (even a suspended one) never is.
 *
 * The locks only prevent duplicate downloads. Correctness does not rest on them: cache
 * entries are content-addressed and appear by atomic rename.
 */
import path from "node:path";
import { TsmError } from "../model/errors.js";
import { withLock } from "../store/lock.js";

/**
 * Runs `fn` holding `<cacheDir>/locks/<name>.lock`. `onWait` is called once if another
 * holder makes us wait. Rejects with InterruptedError (or the signal's TsmError reason)
 * when aborted while waiting.
 */
export function withCacheLock<T>(cacheDir: string, name: string, signal: AbortSignal, fn: () => Promise<T>, onWait?: () => void): Promise<T> {
  return withLock(path.join(cacheDir, "locks"), name, fn, {
    signal,
    waitMs: Infinity,
    // Said at once: a download may keep the waiter a long time, and the message says what it is.
    noticeMs: 0,
    what: "another tsm process to finish with the image cache",
    lockFailure: (lockfile, err) => new TsmError("IMAGE_CACHE_LOCK", `Cannot lock the image cache (${lockfile}): ${(err as Error).message}`, { cause: err }),
    ...(onWait ? { onWait } : {}),
  });
}
