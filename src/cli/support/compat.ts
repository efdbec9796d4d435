/**
 * Docker Machine compatibility mode: on when tsm runs as `docker-machine` (a symlink to, or
 * a copy of, the bin) or with TSM_COMPAT=docker-machine. In that mode every failure exits 1
 * and the messages scripts grep are Docker Machine's words; outside it tsm keeps its own.
 */
import path from "node:path";
import type { CompatMode } from "../../core/session.js";

/** The mode for this process, from the path it was started as (argv[1]) and the environment. */
export function compatMode(scriptPath: string | undefined, env: Readonly<Record<string, string | undefined>>): CompatMode {
  if (env.TSM_COMPAT === "docker-machine") return "docker-machine";
  if (env.TSM_COMPAT === "tsm") return "tsm";
  // Either separator: a Windows path names the copy the same way wherever the test runs.
  const base = scriptPath ? path.win32.basename(scriptPath).replace(/\.(cjs|js|exe|cmd)$/i, "") : "";
  return base === "docker-machine" ? "docker-machine" : "tsm";
}

/** What compatibility mode prints for a failure: Docker Machine's lines and its exit status. */
export interface CompatReport {
  readonly lines: string[];
  readonly exitCode: number;
}

/** The fields of an error the translation looks at (a TsmError, or what a test builds). */
export interface ReportedError {
  readonly code: string;
  readonly message: string;
  readonly machineName?: string;
  readonly driverName?: string;
  readonly errors?: readonly ReportedError[];
}

/**
 * Docker Machine's words for a tsm failure, as its scripts and its integration suite
 * (test/integration/core) grep them; `verb` is the command that failed. Every failure
 * exits 1 except a failed pre-create check (3), as in Docker Machine.
 */
export function dockerMachineReport(err: ReportedError, verb: string | undefined): CompatReport {
  const pre = err.code === "PRE_CREATE" || (err.code === "MULTIPLE" && err.errors?.every((e) => e.code === "PRE_CREATE"));
  const lines = err.code === "MULTIPLE" && err.errors ? err.errors.map((e) => dockerMachineLine(e, verb)) : [dockerMachineLine(err, verb)];
  return { lines, exitCode: pre ? 3 : 1 };
}

function dockerMachineLine(err: ReportedError, verb: string | undefined): string {
  const name = err.machineName;
  switch (err.code) {
    case "NOT_FOUND":
      return `Docker machine "${name}" does not exist. Use "docker-machine ls" to list machines. Use "docker-machine create" to add a new one.`;
    case "EXISTS":
      return `Docker machine "${name}" already exists`;
    case "DRIVER_NOT_FOUND":
      return `Driver "${err.driverName}" not found. Do you have the plugin binary "docker-machine-driver-${err.driverName}" accessible in your PATH?`;
    case "PRE_CREATE":
      return `Error with pre-create check: "${err.message.replace(/^Pre-create check failed: /, "")}"`;
    case "STATE":
      if (/not running|no address yet|no SSH port yet|never started/.test(err.message)) {
        if (verb === "env" || verb === "config") {
          const who = /"([^"]+)"/.exec(err.message)?.[1] ?? "The machine";
          return `${verb === "env" ? "Error checking TLS connection: " : "Error running connection boilerplate: "}${who} is not running. Please start it in order to use the connection settings.`;
        }
        if (verb === "ssh") return `Error: Cannot run SSH command: Host "${/"([^"]+)"/.exec(err.message)?.[1] ?? ""}" is not running`;
        return "Host is not running";
      }
      return err.message.replace(/\btsm\b/g, "docker-machine");
    case "CERTS":
      if (verb === "env") return `Error checking TLS connection: ${err.message}`;
      if (verb === "config") return `Error running connection boilerplate: ${err.message}`;
      return err.message;
    case "USAGE":
      // Docker Machine's argument-count lines (its its/cli suite greps them).
      if (/^No machine name specified and no "default" machine exists/.test(err.message)) return 'Error: No machine name(s) specified and no "default" machine exists';
      if (/^Expected one or more machine names/.test(err.message)) return "Error: Expected to get one or more machine names as arguments";
      return `Error: ${err.message.replace(/"tsm /g, '"docker-machine ').replace(/'tsm /g, "'docker-machine ")}`;
    default:
      return err.message.replace(/"tsm /g, '"docker-machine ').replace(/'tsm /g, "'docker-machine ");
  }
}

/**
 * In compatibility mode, the usage hints tsm's messages give ("run: tsm env m") name the
 * program as invoked: `docker-machine env m`. Applied to stderr text only (stdout is data).
 */
export function asDockerMachineWords(text: string): string {
  return text.replace(COMMAND_HINT, "$1docker-machine ");
}

/** "tsm VERB" where a message tells the user what to run (not "tsm does ..." prose). */
const COMMAND_HINT =
  /(^|[\s"'`(])tsm (?=(?:(?:active|config|create|env|help|import|inspect|ip|kill|logs|ls|mount|provision|regenerate-certs|restart|rm|scp|ssh|ssh-trust|start|status|stop|upgrade|url|version)\b|-))/g;
