/**
 * Errors of the provisioner. Each is a TsmError with a stable `code`; all exit 1
 * except InvalidEngineOptionError (2: the user's value cannot be used as given).
 * Every message is one line that says what failed; `details` carries the stderr
 * tail, the engine log or the remedy.
 */
import { ExitCode, TsmError } from "../model/errors.js";

/** Last non-empty line of a command's output, trimmed ("" when there is none). */
export function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  return lines[lines.length - 1] ?? "";
}

/** The last `n` non-empty lines, for error details. */
export function tailLines(text: string, n: number): string[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  return lines.slice(-n);
}

/**
 * A remote step failed: it exited non-zero, or the connection failed under it
 * (then `exitCode` is null and `cause` is the SSH layer's error).
 * `command` is the script that ran (without the sudo wrapper); it never holds
 * secrets because file contents travel on stdin.
 */
export class ProvisionError extends TsmError {
  readonly step: string;
  readonly command: string;
  /** The remote exit status; null when the command did not complete. (`exitCode` is TsmError's process exit status.) */
  readonly remoteExitCode: number | null;
  readonly stderrTail: string[];

  constructor(
    step: string,
    command: string,
    result: { exitCode: number | null; stderr: string; stdout?: string },
    options: { cause?: unknown; details?: string[] } = {},
  ) {
    const output = result.stderr.trim() !== "" ? result.stderr : (result.stdout ?? "");
    const tail = tailLines(output, 15);
    const last = lastLine(output);
    const causeMessage = options.cause instanceof Error ? options.cause.message : undefined;
    const what =
      result.exitCode === null
        ? (causeMessage ?? "the command did not complete")
        : `exit status ${result.exitCode}${last !== "" ? `: ${last}` : ""}`;
    super("PROVISION", `Provisioning failed while trying to ${step} (${what})`, {
      cause: options.cause,
      details: [...(options.details ?? []), ...(tail.length > 0 ? ["Last output lines:", ...tail.map((l) => `  ${l}`)] : [])],
    });
    this.name = "ProvisionError";
    this.step = step;
    this.command = command;
    this.remoteExitCode = result.exitCode;
    this.stderrTail = tail;
  }
}

/** A non-root login user without passwordless sudo. Raised before anything is changed. */
export class SudoRequiredError extends TsmError {
  constructor(
    readonly user: string,
    readonly host: string,
    sudoSaid: string,
    options: { requiretty?: boolean } = {},
  ) {
    super(
      "SUDO_REQUIRED",
      `User "${user}" needs passwordless sudo (NOPASSWD) on ${host}: nothing was changed${sudoSaid !== "" ? ` (sudo said: ${sudoSaid})` : ""}`,
      {
        details: options.requiretty
          ? [`sudoers requires a terminal for this user: add "Defaults:${user} !requiretty" to /etc/sudoers.d/, or connect as root.`]
          : [
              `Allow it with a sudoers rule such as "${user} ALL=(ALL) NOPASSWD:ALL" in /etc/sudoers.d/${user.replace(/[^A-Za-z0-9_-]/g, "_")}, or connect as root.`,
            ],
      },
    );
    this.name = "SudoRequiredError";
  }
}

export const SUPPORTED_FAMILIES = [
  "Debian/Ubuntu (apt)",
  "RHEL/CentOS/Fedora/Rocky/AlmaLinux (dnf/yum)",
  "Alpine (apk, OpenRC)",
] as const;

/** /etc/os-release names an OS outside the supported families. */
export class UnsupportedOsError extends TsmError {
  constructor(readonly prettyName: string) {
    super("UNSUPPORTED_OS", `${prettyName} is not supported: tsm provisions ${SUPPORTED_FAMILIES.join(", ")} hosts`);
    this.name = "UnsupportedOsError";
  }
}

/** Neither systemd nor OpenRC runs the host. */
export class UnsupportedInitError extends TsmError {
  constructor(readonly prettyName: string) {
    super(
      "UNSUPPORTED_INIT",
      `${prettyName} runs neither systemd nor OpenRC: tsm needs one of them to run Docker Engine as a service`,
    );
    this.name = "UnsupportedInitError";
  }
}

/** dockerd is absent and the install method forbids installing it, or the OS has no package for it. */
export class EngineInstallError extends TsmError {
  constructor(message: string, details: string[] = []) {
    super("ENGINE_INSTALL", message, { details });
    this.name = "EngineInstallError";
  }
}

/** An engine option tsm cannot pass on as given (control character, setting tsm manages itself...). */
export class InvalidEngineOptionError extends TsmError {
  constructor(message: string) {
    super("ENGINE_OPTION", message, { exitCode: ExitCode.usage });
    this.name = "InvalidEngineOptionError";
  }
}

/** The host's own Docker configuration prevents tsm's from taking effect (bad daemon.json, overriding drop-in). */
export class EngineConfigConflictError extends TsmError {
  constructor(message: string, details: string[] = []) {
    super("ENGINE_CONFIG_CONFLICT", message, { details });
    this.name = "EngineConfigConflictError";
  }
}
