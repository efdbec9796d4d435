/**
 * The SSH seam. Everything outside `src/ssh` talks to hosts through these types;
 * `ssh2-connector.ts` is the one implementation on ssh2 (it assembles connect.ts,
 * connection.ts, channels.ts and sftp.ts), and tests replace `SshConnector` with a
 * fake. This file must not import ssh2: commands that never
 * touch SSH import these types and `shQuote`, and must not pay for loading ssh2.
 */
import { UsageError } from "../model/errors.js";

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** "" = use the agent / default keys */
  privateKeyPath: string;
}

export interface SshConnectOptions {
  target: SshTarget;
  /**
   * The pinned host key as "<type> SHA256:<base64 fingerprint>" (OpenSSH's format,
   * e.g. "ssh-ed25519 SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s").
   * undefined = first contact: accept and report it in `SshSession.hostKey`, which the
   * caller stores with the machine.
   */
  pinnedHostKey?: string;
  /** Overall deadline for connecting, retries included (default 60 s). */
  deadlineMs?: number;
  signal?: AbortSignal;
  /** Environment for SSH_AUTH_SOCK and HOME (default keys); default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Debug lines (attempts, auth methods, channel events); never secrets. */
  log?: (line: string) => void;
  /** The machine this host belongs to, only for remedies in error messages (`tsm ssh-trust NAME`). */
  machineName?: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** The remote exit status; 128 + signal number when killed by a signal whose number is known, else 255 (like OpenSSH's `ssh`). */
  exitCode: number;
  /** The signal name without "SIG" ("KILL", "TERM") when the remote command was killed by one. */
  signal?: string;
}

export interface ExecOptions {
  /** Written to the command's stdin, which is then closed. Without it stdin is closed at once (like `ssh host cmd </dev/null`). */
  input?: string | Buffer;
  /** Allocate a PTY (stdout and stderr then arrive merged on stdout, with CRLF line ends). */
  pty?: boolean;
  /**
   * Stop the command after this long: the call rejects with SshCommandTimeoutError and the
   * channel is closed after a SIGKILL request. Servers may refuse that request (OpenSSH does
   * for root sessions); then a non-PTY command can run on, without its output, until it ends
   * or writes to its closed pipes. With `pty` the closed terminal hangs it up (SIGHUP).
   */
  timeoutMs?: number;
  /** Aborting stops the command like `timeoutMs` and rejects with the signal's reason when it is a TsmError, else InterruptedError. */
  signal?: AbortSignal;
  /** Live output as it arrives (progress, log tails); still collected into the result. */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
}

export interface InteractiveOptions {
  /** undefined = the user's login shell. */
  command?: string;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Allocate a PTY. When stdin is a TTY it is put in raw mode for the session and restored afterwards. */
  pty: boolean;
  /** TERM for the PTY; default $TERM of `env` or "xterm-256color". */
  term?: string;
  /** Window size when stdout is not a TTY (default 80x24). A TTY stdout's own size wins, and resizes are followed. */
  cols?: number;
  rows?: number;
}

export interface TransferOptions {
  /** Copy directories and their contents (like `scp -r`); without it a directory source is an error. */
  recursive: boolean;
}

export interface SshSession {
  /** The server's host key as verified, "<type> SHA256:<b64>". */
  readonly hostKey: string;
  /** The same key in OpenSSH's public key form, "<type> <base64 blob>" (for a known_hosts line). */
  readonly hostPublicKey: string;
  /** Runs one command on the one shared connection. Never rejects for a non-zero exit: check exitCode. Rejects when the connection dies (SshConnectionLostError). */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /**
   * Interactive: wires a PTY shell (command undefined) or a command to the given streams;
   * resolves with the exit code (128 + N for a signal, 255 when the server reported none).
   * Window size from the stdout TTY when it is one, and follows resizes.
   * stdin ending (EOF) is passed on to the remote side; stdin is unpiped and paused at the end.
   */
  interactive(options: InteractiveOptions): Promise<number>;
  /**
   * SFTP: writes a file atomically enough for config files (write to a temp name in the same
   * directory, chmod, then rename over the target), with the given mode (not subject to umask).
   */
  writeFile(remotePath: string, content: string | Buffer, mode: number): Promise<void>;
  readFile(remotePath: string): Promise<Buffer>;
  /**
   * Copies a local file or tree to the host with `cp`/`scp` rules: when `remotePath` is an
   * existing directory the source lands inside it under its own name, otherwise it becomes
   * `remotePath`. Permission bits are kept (subject to the remote umask, like scp); symlinks
   * are followed; other special files are skipped.
   */
  upload(localPath: string, remotePath: string, options: TransferOptions): Promise<void>;
  /** The reverse of `upload`, with the same rules on the local side. */
  download(remotePath: string, localPath: string, options: TransferOptions): Promise<void>;
  /** Ends the connection; pending operations reject with SshConnectionLostError. Idempotent. */
  close(): void;
}

export type SshConnector = (options: SshConnectOptions) => Promise<SshSession>;

/**
 * POSIX single-quote quoting for anything that reaches a remote shell: the one shared function.
 * Always quotes (even safe-looking words) so the result never depends on the value:
 * `''` for empty; `a'b` -> `'a'\''b'`. Newlines, `$()`, backquotes, `*` are inert inside
 * single quotes. Throws UsageError for a NUL character, which no shell argument can carry.
 */
export function shQuote(value: string): string {
  if (value.includes("\0")) {
    throw new UsageError(`The value ${JSON.stringify(value)} contains a NUL character, which cannot be passed to a remote shell`);
  }
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
