/**
 * Typed errors. Every failure a user can meet is a TsmError with a stable `code`
 * and an `exitCode`; `src/cli/main.ts` is the only place that turns one into a
 * process exit status. Lower layers wrap with context through `cause` instead of
 * flattening messages into strings.
 *
 * Exit codes (documented in README.md):
 *   0 success · 1 operation failed · 2 usage error · 3 pre-create check failed
 *   4 machine does not exist · 5 machine already exists · 6 machine record unreadable
 *   7 machine not in the required state (or the driver cannot do that) · 130 interrupted
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  preCreate: 3,
  notFound: 4,
  exists: 5,
  corrupt: 6,
  state: 7,
  interrupted: 130,
} as const;
/** A documented exit code, or (for `tsm ssh NAME COMMAND`) the remote command's own status. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode] | number;

export class TsmError extends Error {
  readonly code: string;
  readonly exitCode: ExitCodeValue;
  /** Extra lines printed after the one-line message (hints, log tails). */
  readonly details: string[];

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; exitCode?: ExitCodeValue; details?: string[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TsmError";
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.failed;
    this.details = options.details ?? [];
  }
}

export function isTsmError(x: unknown): x is TsmError {
  return x instanceof TsmError;
}

/** Bad command line: unknown flag, wrong argument count, invalid value. */
export class UsageError extends TsmError {
  constructor(message: string, options: { cause?: unknown; details?: string[] } = {}) {
    super("USAGE", message, { ...options, exitCode: ExitCode.usage });
  }
}

export class InvalidMachineNameError extends TsmError {
  constructor(readonly machineName: string) {
    super(
      "INVALID_NAME",
      `Invalid machine name ${JSON.stringify(machineName)}: use letters, digits, '.' and '-', starting with a letter or digit`,
      { exitCode: ExitCode.usage },
    );
  }
}

export class MachineNotFoundError extends TsmError {
  constructor(readonly machineName: string) {
    super(
      "NOT_FOUND",
      `Machine "${machineName}" does not exist. Use "tsm ls" to list machines, "tsm create" to add one.`,
      { exitCode: ExitCode.notFound },
    );
  }
}

export class MachineExistsError extends TsmError {
  constructor(readonly machineName: string) {
    super("EXISTS", `Machine "${machineName}" already exists`, { exitCode: ExitCode.exists });
  }
}

/** A record on disk that cannot be used: truncated, not JSON, invalid, or from a newer tsm. */
export class CorruptRecordError extends TsmError {
  constructor(
    readonly machineName: string,
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      "CORRUPT_RECORD",
      `Machine "${machineName}" has an unreadable record: ${reason}. Remove it with "tsm rm -f ${machineName}"`,
      { ...options, exitCode: ExitCode.corrupt },
    );
  }
}

export class PreCreateCheckError extends TsmError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("PRE_CREATE", `Pre-create check failed: ${message}`, { ...options, exitCode: ExitCode.preCreate });
  }
}

export class DriverNotFoundError extends TsmError {
  constructor(
    readonly driverName: string,
    known: readonly string[],
  ) {
    super("DRIVER_NOT_FOUND", `Driver "${driverName}" not found. Known drivers: ${known.join(", ")}`, {
      exitCode: ExitCode.usage,
    });
  }
}

/** The machine is in a state that does not allow the operation (e.g. `url` on a stopped host). */
export class MachineStateError extends TsmError {
  constructor(message: string) {
    super("STATE", message, { exitCode: ExitCode.state });
  }
}

/** The driver cannot do this at all (e.g. `stop` on the none driver). */
export class NotSupportedError extends TsmError {
  constructor(
    readonly driverName: string,
    readonly operation: string,
  ) {
    super("NOT_SUPPORTED", `The ${driverName} driver does not support ${operation}`, { exitCode: ExitCode.state });
  }
}

/** Certificates missing, expired, not matching the machine address, or refused by the engine. */
export class CertificateError extends TsmError {
  constructor(message: string, options: { cause?: unknown; details?: string[] } = {}) {
    super("CERTS", message, { ...options, exitCode: ExitCode.failed });
  }
}

export class InterruptedError extends TsmError {
  constructor(message = "Interrupted") {
    super("INTERRUPTED", message, { exitCode: ExitCode.interrupted });
  }
}

/** Several machines failed in one multi-machine command; each error keeps its own type. */
export class MultiMachineError extends TsmError {
  constructor(readonly errors: readonly TsmError[]) {
    const codes = new Set(errors.map((e) => e.exitCode));
    const only = codes.size === 1 ? [...codes][0] : undefined;
    super("MULTIPLE", errors.map((e) => e.message).join("\n"), { exitCode: only ?? ExitCode.failed });
  }
}

/** Turns anything thrown into a TsmError, keeping the original as `cause`. */
export function toTsmError(err: unknown, context?: string): TsmError {
  if (isTsmError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TsmError("INTERNAL", context ? `${context}: ${message}` : message, { cause: err });
}

/** The message of an error and of its causes, one per line, for --debug. */
export function describeChain(err: unknown): string[] {
  const lines: string[] = [];
  let current: unknown = err;
  let depth = 0;
  while (current !== undefined && current !== null && depth < 10) {
    if (current instanceof Error) {
      lines.push(`${depth === 0 ? "" : "caused by: "}${current.stack ?? current.message}`);
      current = (current as { cause?: unknown }).cause;
    } else {
      lines.push(`${depth === 0 ? "" : "caused by: "}${String(current)}`);
      current = undefined;
    }
    depth++;
  }
  return lines;
}

/**
 * Not a failure of tsm: the remote command of `tsm ssh NAME COMMAND` exited
 * with this status, which becomes tsm's own. Nothing is printed for it.
 */
export class RemoteExitStatus extends TsmError {
  constructor(readonly status: number) {
    super("REMOTE_EXIT", `The remote command exited with ${status}`, { exitCode: status });
  }
}
