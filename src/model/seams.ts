/**
 * The shapes of tsm's process, shell and progress seams, as the driver contract names them.
 * Types only: the real implementations live in their own floors (src/exec wraps execa,
 * src/ssh implements Remote over one connection, src/output draws progress), and tests
 * replace each with a table fake.
 */

export interface ExecOptions {
  input?: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Resolve with the exit code instead of rejecting on a non-zero exit. */
  reject?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs a local program. Rejects on a non-zero exit unless `reject` is false. */
export type Exec = (file: string, args: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

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

/** Step lines of a long operation on stderr: live on a terminal, plain lines otherwise. */
export interface ProgressSink {
  /** A new step begins; the previous one is done. */
  step(text: string): void;
  /** New text for the current step, which is not done yet (redrawn on a terminal, a plain line elsewhere). */
  update(text: string): void;
  /** A line that is not a step (debug, warning). */
  note(text: string): void;
  /** Raw stderr text (messages, prompts) that must not be mixed into a live line. */
  above(text: string): void;
  /** Ends the live line: the current step is marked done (ok) or failed. */
  finish(ok: boolean): void;
}
