/**
 * Turning errors into what the user sees: one line on stderr (plus the
 * error's own detail lines), the cause chain only with --debug, and the exit status.
 */
import { CommanderError } from "commander";
import path from "node:path";
import { describeChain, ExitCode, isTsmError, type ExitCodeValue } from "../model/errors.js";
import type { Io } from "../output/io.js";
import { dockerMachineReport } from "./support/compat.js";
import type { CompatMode } from "../core/session.js";

/** Global options that take a value: the word after them is not the command. */
const VALUE_FLAGS = new Set(["-s", "--storage-path", "--tls-ca-cert", "--tls-ca-key", "--tls-client-cert", "--tls-client-key", "--github-api-token", "--bugsnag-api-token"]);

/** The verb on the command line (the first word that is neither a flag nor a global flag's value). */
export function verbOf(argv: readonly string[]): string | undefined {
  return argv.slice(1).find((a, i, rest) => !a.startsWith("-") && !VALUE_FLAGS.has(rest[i - 1] ?? ""));
}

/**
 * Maps anything thrown to an exit status, printing one line (plus details) on stderr. In
 * Docker Machine compatibility mode the lines are Docker Machine's and every failure exits 1
 * (3 for a failed pre-create check); interrupts keep 130/143.
 */
export function reportError(err: unknown, io: Io, debug: boolean, argv: readonly string[], compat: CompatMode = "tsm"): ExitCodeValue {
  const dm = compat === "docker-machine";
  const prog = dm ? "docker-machine" : "tsm";
  if (err instanceof CommanderError) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") {
      return ExitCode.ok;
    }
    const text = err.message.replace(/^error: /, "");
    const unknownCommand = /^unknown command '([^']*)'/.exec(text);
    if (unknownCommand) {
      io.err(dm ? `docker-machine: '${unknownCommand[1]}' is not a docker-machine command. See 'docker-machine --help'.\n` : `Error: '${unknownCommand[1]}' is not a tsm command. See 'tsm --help'.\n`);
    } else {
      const sub = verbOf(argv);
      const hint = sub ? `${prog} ${sub} --help` : `${prog} --help`;
      io.err(`Error: ${text.replace(/\n+/g, " ").trim().replace(/\.+$/, "")}. See '${hint}'.\n`);
    }
    return dm ? ExitCode.failed : ExitCode.usage;
  }
  if (dm && isTsmError(err) && err.code !== "REMOTE_EXIT" && err.code !== "STOPPED" && err.code !== "INTERRUPTED") {
    const report = dockerMachineReport(err, verbOf(argv));
    for (const line of report.lines) io.err(`${line}\n`);
    for (const d of err.details) io.err(`${d.replace(/\btsm /g, "docker-machine ")}\n`);
    if (debug) for (const line of describeChain(err.cause)) io.err(`${line}\n`);
    return report.exitCode;
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
  if (base === "tsm" || base === "tsm.cmd" || base === "tsm.ps1") return "tsm";
  // Installed as docker-machine (a symlink or copy on PATH): hints read as Docker Machine's do.
  return base === "docker-machine" || base === "docker-machine.cmd" ? "docker-machine" : scriptPath;
}

