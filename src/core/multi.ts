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
