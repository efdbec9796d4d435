/**
 * Cancellation, once for every floor: what an aborted operation rejects with, a sleep
 * that an abort ends at once, and the note of what an interrupted command leaves. Ctrl-C
 * (or SIGTERM) aborts the command's signal; every wait in tsm goes through here, so an
 * interrupted command stops at its next step and exits 130 (143 for SIGTERM).
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

/**
 * What the running command would leave if it stopped now, in words ("the record of "x" is
 * kept; complete it with ..."), kept current by the command as it goes. main.ts prints it
 * when it must force the exit (a second Ctrl-C, or the grace period over), so even then
 * the user learns what exists and what to do. A function, asked at that moment, so it
 * can look at what is really on disk.
 */
/**
 * A signal of its own for one wait or one machine's share of a command: aborted with
 * `signal` (same reason) but adding no listener to it (AbortSignal.any), so many waits,
 * SSH connections and engine requests at once (a command over 11+ machines) do not pile
 * listeners onto the command's signal (Node's MaxListenersExceededWarning).
 */
export function followingSignal(signal: AbortSignal): AbortSignal {
  return AbortSignal.any([signal]);
}

export class InterruptNote {
  #describe: (() => string) | undefined;

  /** What to say from now on; undefined when stopping now would leave nothing to say. */
  set(describe: (() => string) | undefined): void {
    this.#describe = describe;
  }

  text(): string | undefined {
    try {
      return this.#describe?.();
    } catch {
      return undefined;
    }
  }
}
