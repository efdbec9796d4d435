/**
 * Commands over channels of the shared connection: `exec` (collected output, stdin, PTY,
 * timeout, abort) and `interactive` (a shell or command wired to streams).
 *
 * Contract (the SshSession methods of the same names, client.ts): a non-zero exit is a
 * result, never a rejection; the exit code is the remote status, or 128 + N for a signal
 * (255 when the server reported neither). A timeout rejects with SshCommandTimeoutError, an
 * abort with the signal's reason (or InterruptedError); both ask the server to SIGKILL the
 * command and close its channel, and the session stays usable. A channel the server
 * refuses is SshConnectError; a dying connection is SshConnectionLostError (connection.ts).
 */
import os from "node:os";
import type { Client, ClientChannel } from "ssh2";
import { abortError } from "../model/abort.js";
import type { ExecOptions, ExecResult, InteractiveOptions } from "./client.js";
import type { Connection, Env } from "./connection.js";
import { SshCommandTimeoutError, SshConnectError, abbreviate } from "./errors.js";

/** How much of a command names it in "lost during the command ..." messages. */
const OPERATION_NAME_MAX = 60;

export function exec(conn: Connection, command: string, options: ExecOptions = {}): Promise<ExecResult> {
  const operation = `the command "${abbreviate(command, OPERATION_NAME_MAX)}"`;
  return new Promise<ExecResult>((resolve, reject) => {
    if (conn.lost) return reject(conn.lostError(operation));
    const { signal, timeoutMs } = options;
    if (signal?.aborted) return reject(abortError(signal, `running ${operation}`));

    let channel: ClientChannel | undefined;
    let done = false;
    let release: (() => void) | undefined;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];

    const stopChannel = () => {
      if (!channel) return;
      // Ask for SIGKILL first (OpenSSH signals the command's whole process group), then
      // close: closing alone leaves a non-PTY command running until it touches its pipes.
      sendSignal(conn.client, channel, "KILL");
      try {
        channel.close();
      } catch {
        // channel already gone
      }
    };
    const finish = (settle: () => void) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      untrack();
      release?.();
      settle();
    };
    const untrack = conn.track(operation, (err) => finish(() => reject(err)));
    const timer =
      timeoutMs !== undefined && timeoutMs > 0
        ? setTimeout(() => {
            stopChannel();
            finish(() => reject(new SshCommandTimeoutError(conn.target.host, conn.target.port, command, timeoutMs)));
          }, timeoutMs)
        : undefined;
    const onAbort = () => {
      stopChannel();
      finish(() => reject(abortError(signal, `running ${operation}`)));
    };
    signal?.addEventListener("abort", onAbort, { once: true });

    void conn.acquireChannel().then((rel) => {
      if (done) return rel();
      release = rel;
      const execOptions = options.pty ? { pty: { term: "xterm-256color", cols: 200, rows: 50 } } : {};
      const open = (attempt: number): void =>
        conn.openChannel<ClientChannel>(operation, (err) => finish(() => reject(err)), (cb) => conn.client.exec(command, execOptions, cb), (err, ch) => {
          if (err) {
            // sshd counts a session against MaxSessions until it has cleaned it up, a moment
            // after the channel closed: a refusal while other commands run is retried briefly.
            if (!conn.lost && !done && attempt < CHANNEL_RETRIES) {
              setTimeout(() => (done ? undefined : open(attempt + 1)), 25 * 2 ** attempt);
              return;
            }
            return finish(() => reject(refusedChannel(conn, operation, err)));
          }
          channel = ch;
          if (done) return stopChannel();
          ch.on("data", (chunk: Buffer) => {
            stdout.push(chunk);
            options.onStdout?.(chunk);
          });
          ch.stderr.on("data", (chunk: Buffer) => {
            stderr.push(chunk);
            options.onStderr?.(chunk);
          });
          const status = exitStatus(ch);
          ch.on("close", () => {
            // On a lost connection the session's close handler has already rejected.
            if (conn.lost) return finish(() => reject(conn.lostError(operation)));
            const { exitCode, signal: exitSignal } = status();
            finish(() =>
              resolve({
                stdout: Buffer.concat(stdout).toString("utf8"),
                stderr: Buffer.concat(stderr).toString("utf8"),
                exitCode,
                ...(exitSignal !== undefined ? { signal: exitSignal } : {}),
              }),
            );
          });
          // Closing stdin is what lets `cat`, `sudo tee FILE` and friends finish.
          if (options.input !== undefined) ch.end(options.input);
          else ch.end();
        });
      open(0);
    });
  });
}

export function interactive(conn: Connection, env: Env, options: InteractiveOptions): Promise<number> {
  const operation = options.command === undefined ? "the interactive shell" : `the command "${abbreviate(options.command, OPERATION_NAME_MAX)}"`;
  return new Promise<number>((resolve, reject) => {
    if (conn.lost) return reject(conn.lostError(operation));
    const stdin = options.stdin as NodeJS.ReadStream;
    const stdout = options.stdout as NodeJS.WriteStream;
    const ttyOut = stdout.isTTY === true;
    const window = {
      term: options.term ?? env.TERM ?? "xterm-256color",
      cols: ttyOut && stdout.columns ? stdout.columns : (options.cols ?? 80),
      rows: ttyOut && stdout.rows ? stdout.rows : (options.rows ?? 24),
      width: 0,
      height: 0,
    };
    let channel: ClientChannel | undefined;
    let done = false;
    let rawWas: boolean | undefined;
    const onResize = () => {
      if (channel && stdout.columns && stdout.rows) channel.setWindow(stdout.rows, stdout.columns, 0, 0);
    };
    const finish = (settle: () => void) => {
      if (done) return;
      done = true;
      untrack();
      if (ttyOut) stdout.removeListener("resize", onResize);
      if (channel) {
        stdin.unpipe(channel);
        channel.stdout.unpipe(options.stdout);
        channel.stderr.unpipe(options.stderr);
      }
      // Leave stdin as found: not flowing (so the process can exit) and in its old mode.
      stdin.pause?.();
      if (rawWas !== undefined) stdin.setRawMode?.(rawWas);
      settle();
    };
    const untrack = conn.track(operation, (err) => finish(() => reject(err)));
    const onChannel = (err: Error | undefined, ch: ClientChannel) => {
      if (err) return finish(() => reject(refusedChannel(conn, operation, err)));
      channel = ch;
      if (done) return ch.close();
      if (options.pty && stdin.isTTY === true && typeof stdin.setRawMode === "function") {
        // The remote PTY does line editing and signals; the local terminal must pass keys through untouched.
        rawWas = stdin.isRaw;
        stdin.setRawMode(true);
      }
      if (ttyOut && options.pty) stdout.on("resize", onResize);
      const status = exitStatus(ch);
      ch.on("close", () => {
        if (conn.lost) return finish(() => reject(conn.lostError(operation)));
        finish(() => resolve(status().exitCode));
      });
      ch.stdout.pipe(options.stdout, { end: false });
      ch.stderr.pipe(options.stderr, { end: false });
      stdin.pipe(ch);
      stdin.resume?.();
    };
    const pty = options.pty ? window : false;
    const command = options.command;
    conn.openChannel<ClientChannel>(
      operation,
      (err) => finish(() => reject(err)),
      (cb) => (command === undefined ? conn.client.shell(pty, cb) : conn.client.exec(command, pty ? { pty } : {}, cb)),
      onChannel,
    );
  });
}

/** How often a refused channel is asked for again (25 ms, doubling: about 1.6 s in all). */
const CHANNEL_RETRIES = 6;

/** Why a channel for `operation` did not open: the lost connection, or the server's refusal. */
function refusedChannel(conn: Connection, operation: string, err: Error): Error {
  return conn.orLost(
    operation,
    new SshConnectError(conn.target.host, conn.target.port, `the server refused a channel for ${operation}: ${err.message}`, { cause: err }),
  );
}

/** Records the exit status the server reports on `ch`; the returned function reads it once the channel has closed. */
function exitStatus(ch: ClientChannel): () => { exitCode: number; signal?: string } {
  let code: number | undefined;
  let signal: string | undefined;
  ch.on("exit", (exitCode: number | null, signalName?: string) => {
    if (typeof exitCode === "number") code = exitCode;
    else if (signalName) signal = signalName.replace(/^SIG/, ""); // ssh2 says "SIGTERM", RFC 4254 "TERM"
  });
  return () => ({ exitCode: code ?? signalExitCode(signal), signal });
}

/** 128 + the signal's number, as shells report it; 255 (OpenSSH's "no status") otherwise. */
export function signalExitCode(signalName: string | undefined): number {
  if (signalName === undefined) return 255;
  const n = (os.constants.signals as Record<string, number | undefined>)[`SIG${signalName}`];
  return n === undefined ? 255 : 128 + n;
}

/**
 * Sends an RFC 4254 §6.9 "signal" request. ssh2's `Channel.signal()` stays silent once
 * stdin is closed (EOF sent), which `exec` always does, although the request is valid
 * until the channel closes; so this goes through ssh2's protocol object, guarded so that
 * a different ssh2 internals layout degrades to "no signal" rather than an exception.
 */
function sendSignal(client: Client, channel: ClientChannel, name: string): void {
  const outgoing = (channel as unknown as { outgoing?: { id?: unknown; state?: unknown } }).outgoing;
  const protocol = (client as unknown as { _protocol?: { signal?: unknown } })._protocol;
  if (typeof outgoing?.id !== "number" || (outgoing.state !== "open" && outgoing.state !== "eof")) return;
  if (typeof protocol?.signal !== "function") return;
  try {
    (protocol.signal as (id: number, sig: string) => void).call(protocol, outgoing.id, name);
  } catch {
    // connection already gone
  }
}
