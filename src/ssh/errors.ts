/**
 * Errors of the SSH layer. Each is a TsmError with a stable `code` (exit status 1):
 * callers (provisioner, `tsm ssh`, `tsm scp`) wrap them with machine context
 * through `cause` or let them through as they are, since every message already
 * names the host and says what to check.
 */
import { TsmError } from "../model/errors.js";

/** "10.0.0.5:22", or "[::1]:22" for IPv6 literals, so the port is never ambiguous. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The server presented a host key other than the one pinned for the machine.
 * Never retried; the connection is closed during key exchange, before any
 * authentication, so nothing was sent to (or run on) the impostor.
 *
 * `machineName` fills the remedy (`tsm ssh-trust NAME`); without it the message
 * says `tsm ssh-trust <machine>`.
 */
export class SshHostKeyMismatchError extends TsmError {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly expected: string,
    readonly actual: string,
    readonly machineName?: string,
  ) {
    super(
      "SSH_HOST_KEY_MISMATCH",
      `The SSH host key of ${hostPort(host, port)} has changed (expected ${expected}, got ${actual}). ` +
        `If the host was reinstalled, accept the new key with "tsm ssh-trust ${machineName ?? "<machine>"}"; ` +
        `otherwise someone may be intercepting the connection.`,
    );
    this.name = "SshHostKeyMismatchError";
  }
}

/**
 * The server refused every authentication method tried. Never retried.
 * `tried` describes each method ("key file /k/id_ed25519", "ssh-agent at /tmp/a.sock");
 * `serverMethods` is what the server said it still accepts, when it said so.
 */
export class SshAuthError extends TsmError {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly user: string,
    readonly tried: readonly string[],
    options: { serverMethods?: readonly string[]; hints?: readonly string[]; cause?: unknown } = {},
  ) {
    const accepts =
      options.serverMethods && options.serverMethods.length > 0
        ? ` The server accepts: ${options.serverMethods.join(", ")}.`
        : "";
    const hints = options.hints && options.hints.length > 0 ? ` ${options.hints.join(" ")}` : "";
    super(
      "SSH_AUTH",
      tried.length === 0
        ? `Cannot authenticate as "${user}" on ${hostPort(host, port)}: there is no SSH key to try.${hints}`
        : `SSH authentication as "${user}" on ${hostPort(host, port)} was refused (tried: ${tried.join("; ")}).${accepts}${hints} ` +
            `Check the user name, and that the public key is in ~${user}/.ssh/authorized_keys on the host.`,
      { cause: options.cause },
    );
    this.name = "SshAuthError";
  }
}

/** No SSH session could be established before the deadline; `lastError` says why the last attempt failed. */
export class SshUnreachableError extends TsmError {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly attempts: number,
    readonly elapsedMs: number,
    readonly lastError: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      "SSH_UNREACHABLE",
      `Cannot reach SSH on ${hostPort(host, port)}: ${attempts} attempt${attempts === 1 ? "" : "s"} in ${(elapsedMs / 1000).toFixed(1)} s, ` +
        `the last failed with: ${lastError}. Check that the host is running, that the address and port are right, and that no firewall blocks the port.`,
      { cause: options.cause },
    );
    this.name = "SshUnreachableError";
  }
}

/** The connection dropped (server gone, network cut, keepalives unanswered) while `operation` was running or about to run. */
export class SshConnectionLostError extends TsmError {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly operation: string,
    options: { cause?: unknown; reason?: string } = {},
  ) {
    super(
      "SSH_CONNECTION_LOST",
      `The SSH connection to ${hostPort(host, port)} was lost during ${operation}${options.reason ? ` (${options.reason})` : ""}.`,
      { cause: options.cause },
    );
    this.name = "SshConnectionLostError";
  }
}

/** The private key file cannot be used: missing, unreadable, too open, encrypted without an agent, or not a private key. */
export class SshKeyFileError extends TsmError {
  constructor(
    readonly keyPath: string,
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super("SSH_KEY_FILE", `Cannot use the SSH key ${keyPath}: ${reason}`, { cause: options.cause });
    this.name = "SshKeyFileError";
  }
}

/** A command ran longer than its `timeoutMs`; its channel was closed (the remote process got SIGKILL when the server allows signals). */
export class SshCommandTimeoutError extends TsmError {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(
      "SSH_COMMAND_TIMEOUT",
      `The command ${JSON.stringify(abbreviate(command))} on ${hostPort(host, port)} did not finish within ${(timeoutMs / 1000).toFixed(1)} s and was stopped.`,
    );
    this.name = "SshCommandTimeoutError";
  }
}

/**
 * The server refused a connection-level step other than authentication, or
 * the handshake failed for a reason retrying cannot fix (no common algorithm...).
 */
export class SshConnectError extends TsmError {
  constructor(
    readonly host: string,
    readonly port: number,
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    super("SSH_CONNECT", `Cannot open an SSH session on ${hostPort(host, port)}: ${reason}`, { cause: options.cause });
    this.name = "SshConnectError";
  }
}

/** A file transfer (SFTP, or the local side of one) failed: says which file, where, and why. */
export class SshFileTransferError extends TsmError {
  constructor(
    readonly operation: string,
    readonly filePath: string,
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    super("SSH_FILE_TRANSFER", `Cannot ${operation} ${filePath}: ${reason}`, { cause: options.cause });
    this.name = "SshFileTransferError";
  }
}

/** Commands can be long scripts: messages show the start only, on one line (`max` characters at most). */
export function abbreviate(command: string, max = 80): string {
  const oneLine = command.replace(/\s+/g, " ").trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}
