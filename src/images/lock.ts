/**
 * Locks inside the image cache (`<cacheDir>/locks/<name>.lock`), with
 * proper-lockfile like the store's locks (src/store/lock.ts), but waiting
 * without a deadline and giving up on abort: a download held by another
 * process may take much longer than a record write, and Ctrl-C must still
 * stop the waiter at once. proper-lockfile refreshes the lock while it is held,
 * so the lock of a process that died becomes stale and is taken over.
 *
 * The locks only prevent duplicate downloads. Correctness does not rest on
 * them: cache entries are content-addressed and appear by atomic rename, so a
 * compromised lock (a machine suspended mid-download) is ignored, not fatal.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { abortError, sleep } from "../model/abort.js";
import { TsmError } from "../model/errors.js";

const STALE_MS = 20_000;

/**
 * Runs `fn` holding `<cacheDir>/locks/<name>.lock`. `onWait` is called once if
 * another holder makes us wait. Rejects with InterruptedError (or the signal's
 * TsmError reason) when aborted while waiting.
 */
export async function withCacheLock<T>(
  cacheDir: string,
  name: string,
  signal: AbortSignal,
  fn: () => Promise<T>,
  onWait?: () => void,
): Promise<T> {
  const lockfile = await import("proper-lockfile");
  const locksDir = path.join(cacheDir, "locks");
  await mkdir(locksDir, { recursive: true, mode: 0o700 });
  const target = path.join(locksDir, name);
  let release: (() => Promise<void>) | undefined;
  let waited = false;
  while (release === undefined) {
    if (signal.aborted) throw abortError(signal, "waiting for another tsm process to finish with the image cache");
    try {
      release = await lockfile.lock(target, {
        realpath: false,
        stale: STALE_MS,
        lockfilePath: `${target}.lock`,
        retries: 0,
        onCompromised: () => undefined,
      });
    } catch (err) {
      if ((err as { code?: string }).code !== "ELOCKED") {
        throw new TsmError("IMAGE_CACHE_LOCK", `Cannot lock the image cache (${target}.lock): ${(err as Error).message}`, { cause: err });
      }
      if (!waited) {
        waited = true;
        onWait?.();
      }
      await sleep(50 + Math.random() * 100, signal, "waiting for another tsm process to finish with the image cache");
    }
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}
