/**
 * Turning errors into what the user sees: one line on stderr (plus the
 * error's own detail lines), the cause chain only with --debug, and the exit status.
 */
import { CommanderError } from "commander";
import path from "node:path";
import { describeChain, ExitCode, isTsmError, type ExitCodeValue } from "../model/errors.js";
import type { Io } from "../output/io.js";

/** Maps anything thrown to an exit status, printing one line (plus details) on stderr. */
export function reportError(err: unknown, io: Io, debug: boolean, argv: readonly string[]): ExitCodeValue {
  if (err instanceof CommanderError) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") {
      return ExitCode.ok;
    }
    const text = err.message.replace(/^error: /, "");
    const unknownCommand = /^unknown command '([^']*)'/.exec(text);
    if (unknownCommand) {
      io.err(`Error: '${unknownCommand[1]}' is not a tsm command. See 'tsm --help'.\n`);
    } else {
      const sub = argv.slice(1).find((a, i, rest) => !a.startsWith("-") && rest[i - 1] !== "-s" && rest[i - 1] !== "--storage-path");
      const hint = sub ? `tsm ${sub} --help` : "tsm --help";
      io.err(`Error: ${text.replace(/\n+/g, " ").trim().replace(/\.+$/, "")}. See '${hint}'.\n`);
    }
    return ExitCode.usage;
  }
  if (isTsmError(err)) {
    if (err.code === "REMOTE_EXIT" || err.code === "STOPPED") return err.exitCode;
    io.err(`Error: ${err.message}\n`);
    for (const d of err.details) io.err(`${d}\n`);
    if (debug) for (const line of describeChain(err.cause)) io.err(`${line}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.err(`Error: ${message}\n`);
  if (debug) for (const line of describeChain(err)) io.err(`${line}\n`);
  else io.err("(run with --debug for details)\n");
  return ExitCode.failed;
}

export function programName(scriptPath: string | undefined): string {
  if (!scriptPath) return "tsm";
  const base = path.basename(scriptPath);
  return base === "tsm" || base === "tsm.cmd" || base === "tsm.ps1" ? "tsm" : scriptPath;
}

