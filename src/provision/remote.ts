/**
 * The seam between the provisioner and the SSH layer. The provisioner only ever
 * talks to a host through `Remote`; the SSH layer (src/ssh) implements it over one
 * connection, and unit tests replace it with a table fake.
 */

/** What one remote command produced. */
export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  /** Written to the command's stdin, which is then closed. File contents travel here, never in the command line. */
  input?: string | Buffer;
  /** Stop the command after this long (the SSH layer rejects with its timeout error). */
  timeoutMs?: number;
}

/** A shell on the host, as some user. The SSH layer implements it over ONE connection. */
export interface Remote {
  /** Runs `command` with /bin/sh semantics; resolves for any exit status. `input` is written to stdin then closed. */
  run(command: string, options?: RunOptions): Promise<RunResult>;
  /** Whether the login user is root (then no sudo is needed). */
  readonly isRoot: boolean;
}

/**
 * POSIX single-quote quoting: THE one function for every user value that reaches a
 * remote shell. It lives in src/ssh/client.ts (which does not load ssh2) and is
 * re-exported here so that there is exactly one implementation.
 */
export { shQuote } from "../ssh/client.js";
