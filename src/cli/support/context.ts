/**
 * What every command module receives. Kept apart from program.ts (which imports
 * every command) so that commands import this, not the program: no import circle.
 */
import type { Command } from "commander";
import type { CompatMode, Session, SessionDeps } from "../../core/session.js";
import { parseBool } from "./driver-flags.js";

/** What the composition root provides: the session's world, without the store and the --debug switch, and the mode (support/compat.ts). */
export type ProgramDeps = SessionDeps & { readonly compat?: CompatMode };

export interface CliContext {
  readonly deps: ProgramDeps;
  /** Builds (once) the session from the global options seen on this command line. */
  session(cmd: Command): Session;
}

/** --debug / -D anywhere on the command line, or TSM_DEBUG (else Docker Machine's MACHINE_DEBUG) set to a true value. */
export function isDebug(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): boolean {
  if (argv.some((a) => a === "-D" || a === "--debug")) return true;
  const name = ["TSM_DEBUG", "MACHINE_DEBUG"].find((n) => env[n] !== undefined && env[n] !== "");
  if (name === undefined) return false;
  try {
    return parseBool(name, env[name]!);
  } catch {
    return false;
  }
}
