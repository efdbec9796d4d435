/**
 * What every command module receives. Kept apart from program.ts (which imports
 * every command) so that commands import this, not the program: no import circle.
 */
import type { Command } from "commander";
import type { Session, SessionDeps } from "../../core/session.js";
import { parseBool } from "./driver-flags.js";

/** What the composition root provides: the session's world, without the store and the --debug switch. */
export type ProgramDeps = SessionDeps;

export interface CliContext {
  readonly deps: ProgramDeps;
  /** Builds (once) the session from the global options seen on this command line. */
  session(cmd: Command): Session;
}

/** --debug / -D anywhere on the command line, or TSM_DEBUG set to a true value. */
export function isDebug(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): boolean {
  if (argv.some((a) => a === "-D" || a === "--debug")) return true;
  const v = env.TSM_DEBUG;
  if (v === undefined || v === "") return false;
  try {
    return parseBool("TSM_DEBUG", v);
  } catch {
    return false;
  }
}
