/**
 * Cancellation, once for every floor: what an aborted operation rejects with, and a sleep
 * that an abort ends at once. Ctrl-C aborts the command's signal; every wait in tsm goes
 * through here, so an interrupted command exits 130 whatever it was doing.
 */
import { InterruptedError, TsmError } from "./errors.js";

/**
 * The rejection for an aborted operation: the signal's reason when it is a TsmError (the
 * caller chose it, e.g. a deadline), else InterruptedError ("Interrupted while <what>", exit 130).
 */
export function abortError(signal: AbortSignal | undefined, what: string): TsmError {
  const reason: unknown = signal?.reason;
  return reason instanceof TsmError ? reason : new InterruptedError(`Interrupted while ${what}`);
}

/** Throws abortError(signal, what) when the signal has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortError(signal, what);
}

/** Resolves after `ms`; rejects with abortError(signal, what) as soon as the signal aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal, what));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal, what));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
