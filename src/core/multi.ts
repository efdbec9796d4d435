/**
 * Runs one action per machine concurrently and waits for all of them: one
 * machine's failure neither stops nor hides the others.
 */
import { MultiMachineError, toTsmError, type TsmError } from "../model/errors.js";

export type Settled<T> = { ok: true; value: T } | { ok: false; error: TsmError };

export async function settleEach<I, T>(items: readonly I[], fn: (item: I) => Promise<T>): Promise<Settled<T>[]> {
  const results = await Promise.allSettled(items.map(fn));
  return results.map((r) => (r.status === "fulfilled" ? { ok: true, value: r.value } : { ok: false, error: toTsmError(r.reason) }));
}

/** Throws the failures (one error as itself, several as a MultiMachineError). */
export function throwFailures(results: readonly Settled<unknown>[]): void {
  const errors = results.flatMap((r) => (r.ok ? [] : [r.error]));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new MultiMachineError(errors);
}

/**
 * A signal for one machine's share of a command over many: aborted with the command's
 * signal (same reason) but adding no listener to it (AbortSignal.any), so the SSH
 * connections, engine requests and waits of 11+ machines at once do not pile listeners onto
 * the command's signal (Node's MaxListenersExceededWarning).
 */
export function machineSignal(signal: AbortSignal): AbortSignal {
  return AbortSignal.any([signal]);
}
