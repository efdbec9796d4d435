/**
 * Typed errors. Every failure a user can meet is a TsmError with a stable `code`
 * and an `exitCode`; `src/cli/main.ts` is the only place that turns one into a
 * process exit status. Lower layers wrap with context through `cause` instead of
 * flattening messages into strings.
 *
 * Exit codes (documented in README.md):
 *   0 success · 1 operation failed · 2 usage error · 3 pre-create check failed
 *   4 machine does not exist · 5 machine already exists · 6 machine record unreadable
 *   7 machine not in the required state (or the driver cannot do that) · 130 interrupted (SIGINT)
 *   143 terminated (SIGTERM): stopped early like an interrupt
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
  /** 128 + SIGTERM's 15, as shells report a process ended by SIGTERM. */
  terminated: 143,
} as const;
/**
 * Every error code tsm reports, with what it means. A TsmError's `code` must be one of
 * these (the type checker holds every `new TsmError(...)` to the list), so the codes are
 * stable and documented in one place; README.md lists the exit statuses.
 */
export const ERROR_CODES = {
  // usage and store (exit 2, 4, 5, 6)
  USAGE: "the command line is wrong (unknown flag, bad value, wrong argument count)",
  INVALID_NAME: "a machine name breaks the naming rule (characters, or longer than 64)",
  DRIVER_NOT_FOUND: "no driver has the given name",
  NOT_FOUND: "the machine does not exist",
  EXISTS: "a machine of that name exists already",
  CORRUPT_RECORD: "a machine record cannot be read or used",
  DOCKER_MACHINE_RECORD: "a machine record is Docker Machine's, not tsm's (read-only to tsm)",
  DOCKER_MACHINE_STORE: "a write was refused because the store holds Docker Machine's machines",
  STORE: "the store cannot be read or written",
  DISK_FULL: "the disk (or quota) holding the store is full",
  LOCKED: "another tsm process held a lock for too long",
  // machine state and driver abilities (exit 3, 7)
  PRE_CREATE: "a pre-create check failed; nothing was created",
  STATE: "the machine is not in the state the command needs",
  NOT_SUPPORTED: "the driver cannot do this",
  // lifecycle
  CREATE_FAILED: "creating failed after the record was saved; the record is kept",
  REMOVE_FAILED: "removing the host failed",
  KILL_FAILED: "the VM did not stop when killed",
  REBOOT: "the server could not be prepared for a reboot",
  REBOOT_TIMEOUT: "the server did not come back after a reboot",
  INTERRUPTED: "the command was interrupted and stopped early (exit 130; 143 for SIGTERM)",
  STOPPED: "a command that runs until interrupted (logs -f) was, as it should be: exit 130 (143 for SIGTERM), nothing printed",
  MULTIPLE: "several machines failed; each error is listed",
  REMOTE_EXIT: "the remote command of `tsm ssh` exited non-zero (its status is tsm's)",
  TIMEOUT: "an operation did not finish in time",
  INTERNAL: "an unexpected failure (a bug: please report it with --debug output)",
  // active machine
  NO_ACTIVE: "no machine is active (DOCKER_HOST names none)",
  ACTIVE_TIMEOUT: "the active machine did not answer in time",
  // certificates and the engine
  CERTS: "certificates missing, expired, not matching, or refused",
  CA_DAMAGED: "the store's CA key or certificate is missing, unreadable, expired or mismatched; tsm never replaces it by itself",
  BAD_URL: "an engine URL is not tcp://HOST:PORT",
  ENGINE_API: "the Docker engine's API answered with an error or not at all",
  ENGINE_NOT_READY: "the Docker engine did not answer over TLS in time",
  ENGINE_VERSION: "the engine's version could not be read",
  DOCKER_CONTEXT: "a Docker context (or the docker CLI's config.json) cannot be read or written, or is not tsm's",
  // provisioning
  PROVISION: "a provisioning step failed on the host",
  SUDO_REQUIRED: "the SSH user is neither root nor allowed passwordless sudo",
  UNSUPPORTED_OS: "the host's operating system is not one tsm provisions",
  UNSUPPORTED_INIT: "the host's init system is not one tsm configures",
  ENGINE_INSTALL: "installing Docker Engine failed",
  ENGINE_OPTION: "an engine option cannot be applied",
  ENGINE_CONFIG_CONFLICT: "the host's own daemon configuration conflicts with tsm's",
  SWARM: "a Swarm mode step failed",
  // SSH and remote files
  SSH_AUTH: "the SSH server refused every key",
  SSH_UNREACHABLE: "the SSH server cannot be reached",
  SSH_TIMEOUT: "SSH did not answer in time",
  SSH_CONNECTION_LOST: "the SSH connection broke",
  SSH_HOST_KEY_MISMATCH: "the host's SSH key is not the pinned one",
  SSH_KEY_FILE: "an SSH key file cannot be used",
  SSH_COMMAND_TIMEOUT: "a remote command did not finish in time",
  SSH_CONNECT: "connecting over SSH failed",
  SSH_FILE_TRANSFER: "copying a file over SSH failed",
  MOUNT: "sshfs could not mount the directory",
  UNMOUNT: "the directory could not be unmounted",
  NO_SSHFS: "sshfs is not installed",
  NO_RSYNC: "scp --delta needs rsync and OpenSSH's ssh, and one of them is not installed",
  // local VMs
  VM_DIED: "the VM stopped while tsm waited for it",
  VM_START_FAILED: "the VM did not start",
  VM_FILES_MISSING: "the VM's files are gone",
  VM_NOT_FOUND: "the hypervisor does not know the machine's VM",
  NO_ADDRESS: "the VM got no address",
  NO_CONSOLE_LOG: "the machine has no console log",
  PORT_IN_USE: "a host port the VM needs is taken",
  NETWORK_FULL: "no free address is left on the machines' network",
  DISK_TOO_SMALL: "the disk is smaller than the image",
  INVALID_SEED: "a cloud-init seed value cannot be written",
  QEMU_START: "QEMU failed to start the VM",
  QMP: "QEMU's control socket failed",
  QMP_DIR: "the QMP socket directory is not private",
  VBOXMANAGE: "a VBoxManage command failed",
  VBOXMANAGE_NOT_FOUND: "VBoxManage is not installed",
  VBOX_CIDR: "the host-only network's CIDR is unusable",
  VBOX_HOSTONLY_CREATE: "a host-only network could not be created",
  VBOX_HOSTONLY_RANGE: "the host-only range is not allowed by VirtualBox",
  VBOX_HOSTONLY_DUPLICATE: "two host-only networks claim one range",
  VBOX_POWEROFF: "the VM did not power off",
  VTX_UNAVAILABLE: "hardware virtualization is not available",
  // image cache
  IMAGE_CACHE_DIR: "the image cache directory cannot be used",
  IMAGE_CACHE_INDEX: "the image cache's index cannot be read",
  IMAGE_CACHE_LOCK: "the image cache cannot be locked",
  IMAGE_CACHE_MISSING: "a cached image is missing",
  IMAGE_CACHE_WRITE: "the image cache cannot be written",
  IMAGE_CHECKSUM_MISMATCH: "the image does not match its checksum",
  IMAGE_CHECKSUM_MISSING: "the checksum file does not list the image",
  IMAGE_CHECKSUM_UNAVAILABLE: "the checksum file cannot be fetched",
  IMAGE_DOWNLOAD_FAILED: "the image cannot be downloaded",
  IMAGE_FORMAT: "the image is not of a format tsm can use",
  IMAGE_SOURCE_CHANGED: "a local image changed while tsm read it",
  IMAGE_SOURCE_UNREADABLE: "a local image cannot be read",
  IMAGE_UNREADABLE: "a cached image cannot be read",
} as const satisfies Record<string, string>;
export type ErrorCode = keyof typeof ERROR_CODES;

/** A documented exit code, or (for `tsm ssh NAME COMMAND`) the remote command's own status. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode] | number;

export class TsmError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  /** Extra lines printed after the one-line message (hints, log tails). */
  readonly details: string[];

  constructor(
    code: ErrorCode,
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
  /** `maxLength`: the name breaks the rule by its length alone (src/model/name.ts). */
  constructor(
    readonly machineName: string,
    options: { maxLength?: number } = {},
  ) {
    super(
      "INVALID_NAME",
      options.maxLength !== undefined
        ? `Invalid machine name ${JSON.stringify(`${machineName.slice(0, 32)}…`)} (${machineName.length} characters): a name has at most ${options.maxLength} characters`
        : `Invalid machine name ${JSON.stringify(machineName)}: use letters, digits, '.' and '-', starting with a letter or digit`,
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

/**
 * A record written by Docker Machine (its `ConfigVersion`/`DriverName` fields), found in the
 * store tsm was pointed at. It is the user's Docker Machine machine: never suggest removing it.
 */
export class DockerMachineRecordError extends TsmError {
  constructor(readonly machineName: string, configVersion: unknown) {
    super(
      "DOCKER_MACHINE_RECORD",
      `Machine "${machineName}" is a Docker Machine machine (config version ${typeof configVersion === "number" ? configVersion : "unknown"}), which tsm does not use yet: keep using docker-machine for it`,
      { exitCode: ExitCode.corrupt },
    );
  }
}

/** A write into a store that holds Docker Machine's machines: it would leave records Docker Machine cannot read. */
export class DockerMachineStoreError extends TsmError {
  constructor(readonly root: string) {
    super(
      "DOCKER_MACHINE_STORE",
      `${root} is a Docker Machine store: tsm does not write into it (docker-machine could no longer read it); give tsm its own store with --storage-path or TSM_STORAGE_PATH`,
      { exitCode: ExitCode.failed },
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

const IO_REASONS: Readonly<Record<string, string>> = {
  ENOSPC: "the disk is full (ENOSPC). Free some space and run the command again",
  EDQUOT: "the disk quota is exceeded (EDQUOT). Free some space and run the command again",
  EACCES: "permission denied (EACCES). Check that you own the store and may write to it",
  EPERM: "operation not permitted (EPERM). Check that you own the store and may write to it",
  EROFS: "the file system is read-only (EROFS). Use a store on a writable disk (--storage-path)",
  EIO: "input/output error (EIO). The disk may be failing: check it and run the command again",
  ENOTDIR: "a part of the path is not a directory (ENOTDIR). Move that file out of the store",
  EISDIR: "a directory is in the way (EISDIR). Move it out of the store",
  EMFILE: "too many open files (EMFILE). Raise the limit (ulimit -n) or run fewer commands at once",
};

/**
 * A file of the store (records, certificates, keys) could not be read or written. Names the
 * file and, for the usual causes (a full disk, permissions), what to do. `action` is the verb:
 * "write", "read", "create the directory", "remove"...
 */
export class FileIoError extends TsmError {
  constructor(
    readonly action: string,
    readonly path: string,
    cause: unknown,
  ) {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
    const reason = (errno && IO_REASONS[errno]) ?? (cause instanceof Error ? cause.message : String(cause));
    super(errno === "ENOSPC" || errno === "EDQUOT" ? "DISK_FULL" : "STORE", `Cannot ${action} ${path}: ${reason}`, { cause });
  }
}

/** Certificates missing, expired, not matching the machine address, or refused by the engine. */
export class CertificateError extends TsmError {
  constructor(message: string, options: { cause?: unknown; details?: string[] } = {}) {
    super("CERTS", message, { ...options, exitCode: ExitCode.failed });
  }
}

/**
 * The store's CA cannot be used (a file missing or unreadable, key and certificate not a
 * pair, expired). Replacing it would orphan every machine's certificates, so tsm never
 * does so by itself: the message names the file and the deliberate way out.
 */
export class CaDamagedError extends TsmError {
  constructor(
    readonly file: string,
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      "CA_DAMAGED",
      `The CA cannot be used: ${file} ${reason}. tsm never replaces a CA by itself; to make a new one on purpose, run "tsm regenerate-certs --client-certs [NAME...]" (the machines named get certificates from the new CA)`,
      { ...options, exitCode: ExitCode.failed },
    );
  }
}

export class InterruptedError extends TsmError {
  constructor(message = "Interrupted", options: { cause?: unknown; details?: string[] } = {}) {
    super("INTERRUPTED", message, { ...options, exitCode: ExitCode.interrupted });
  }
}

/** A command that runs until interrupted (`logs -f`) ends this way: exit 130, nothing printed. */
export class StoppedByInterrupt extends TsmError {
  constructor() {
    super("STOPPED", "Stopped by an interrupt", { exitCode: ExitCode.interrupted });
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
