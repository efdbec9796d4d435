/**
 * The fault suite's only source of randomness: a seeded PRNG (mulberry32), so a run is
 * replayed exactly (which delays, which signals, which start order) with its seed.
 * The seed is chosen once per run by the suite's global setup (TSM_FAULT_SEED, a number
 * or "random"; default a fixed seed, so CI is repeatable) and handed to every file; each
 * test derives its own stream from the seed and its label, so tests do not depend on
 * each other's order.
 */
import { inject } from "vitest";

export const DEFAULT_SEED = 0x7a5e11;

/** Parses TSM_FAULT_SEED: unset -> the default; "random" -> a fresh 32-bit seed; else decimal or 0x hex. */
export function resolveSeed(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return DEFAULT_SEED;
  if (value.trim() === "random") return (Math.random() * 2 ** 32) >>> 0;
  const n = Number(value.trim());
  if (!Number.isFinite(n)) throw new Error(`TSM_FAULT_SEED must be a number (decimal or 0x hex) or "random", not ${JSON.stringify(value)}`);
  return n >>> 0;
}

/** The run's seed (provided by test/faults/global-setup.ts). */
export function runSeed(): number {
  const provided = inject("tsmFaultSeed");
  return typeof provided === "number" ? provided : resolveSeed(process.env.TSM_FAULT_SEED);
}

export function seedText(seed: number): string {
  return `seed ${seed} (replay with TSM_FAULT_SEED=${seed} npx vitest run --project faults)`;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[Math.floor(this.next() * items.length)]!;
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/** The stream of one test: the run's seed mixed with the test's label. */
export function rngFor(seed: number, label: string): Rng {
  return new Rng((seed ^ fnv1a(label)) >>> 0);
}

declare module "vitest" {
  export interface ProvidedContext {
    tsmFaultSeed: number;
    tsmFaultCountsDir: string;
  }
}
