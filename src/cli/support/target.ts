/**
 * Which machines a command is about (Docker Machine's targetHost rules):
 * no name means "default" when such a machine exists.
 */
import { UsageError } from "../../model/errors.js";
import { validateMachineName } from "../../model/name.js";
import type { Session } from "../../core/session.js";

export const DEFAULT_MACHINE = "default";

async function defaultMachine(session: Session): Promise<string> {
  if (await session.store.exists(DEFAULT_MACHINE)) return DEFAULT_MACHINE;
  throw new UsageError(`No machine name specified and no "${DEFAULT_MACHINE}" machine exists`);
}

/** Commands about exactly one machine (url, status, inspect, env, config, version). */
export async function oneTarget(session: Session, names: readonly string[]): Promise<string> {
  if (names.length > 1) throw new UsageError("Expected one machine name as an argument");
  if (names.length === 0) return defaultMachine(session);
  return validateMachineName(names[0]!);
}

/** Commands about one or more machines (ip, start, stop, kill, restart, regenerate-certs...); duplicates are dropped. */
export async function manyTargets(session: Session, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return [await defaultMachine(session)];
  return [...new Set(names.map(validateMachineName))];
}

/** Commands that need explicit names (rm). */
export function explicitTargets(names: readonly string[], what: string): string[] {
  if (names.length === 0) throw new UsageError(`Expected one or more machine names to ${what}`);
  return [...new Set(names.map(validateMachineName))];
}

