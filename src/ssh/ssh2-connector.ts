/**
 * The SshConnector on ssh2: one `Client` per session, shared by every exec and SFTP
 * operation of a tsm operation (a provision is dozens of commands; reconnecting for each
 * is what made Docker Machine slow), connect retries with backoff under one deadline,
 * keepalives, key files and ssh-agent, and host key pinning checked before authentication.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Client, ClientChannel, ConnectConfig, SFTPWrapper, Stats } from "ssh2";
import { abortError, sleep } from "../model/abort.js";
import { TsmError } from "../model/errors.js";
import { planAuthentication, type AuthPlan } from "./auth.js";
import type {
  ExecOptions,
  ExecResult,
  InteractiveOptions,
  SshConnectOptions,
  SshConnector,
  SshSession,
  SshTarget,
  TransferOptions,
} from "./client.js";
import {
  SshAuthError,
  SshCommandTimeoutError,
  SshConnectError,
  SshConnectionLostError,
  SshFileTransferError,
  SshHostKeyMismatchError,
  SshUnreachableError,
  hostPort,
} from "./errors.js";
import { formatHostKey, hostKeyAlgorithmsFor, hostKeyMatches, keyTypeOfBlob, parseHostKey } from "./host-key.js";
import { loadSsh2, type Ssh2Module } from "./load.js";
import { MAX_ATTEMPT_TIMEOUT_MS, MIN_ATTEMPT_MS, backoffMs, isRetryableConnectError, type ConnectFailure } from "./retry.js";

export const DEFAULT_DEADLINE_MS = 60_000;
/** Keepalives every 10 s, 3 unanswered = dead: a vanished host is noticed in ~30-40 s, not at TCP's pace (minutes). */
export const KEEPALIVE_INTERVAL_MS = 10_000;
export const KEEPALIVE_COUNT_MAX = 3;
/**
 * OpenSSH allows 10 sessions per connection (MaxSessions). Commands beyond this many at
 * once wait for a free channel instead of failing with "open failed"; the rest of the
 * budget is for the SFTP channel and an interactive session.
 */
export const MAX_CONCURRENT_CHANNELS = 8;

type Env = Readonly<Record<string, string | undefined>>;
type Log = (line: string) => void;


function abbreviate(command: string, max = 60): string {
  const oneLine = command.replace(/\s+/g, " ").trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/** Everything a single connection attempt needs, fixed across attempts. */
interface AttemptContext {
  ssh2: Ssh2Module;
  target: SshTarget;
  plan: AuthPlan;
  pinned: string | undefined;
  algorithms: ConnectConfig["algorithms"];
  signal: AbortSignal | undefined;
  log: Log;
  machineName: string | undefined;
}

/**
 * One attempt: resolves with a ready client, or rejects with a TsmError that must not be
 * retried (mismatch, auth, abort) or with ssh2's raw error for the caller to classify.
 */
function attemptConnect(ctx: AttemptContext, timeoutMs: number): Promise<{ client: Client; hostKey: string; hostPublicKey: string }> {
  const { target, log } = ctx;
  return new Promise((resolve, reject) => {
    const client = new ctx.ssh2.Client();
    let settled = false;
    let hostKey: string | undefined;
    let hostPublicKey = "";
    let mismatch: string | undefined;
    let serverMethods: string[] | undefined;
    const tried: string[] = [];
    let next = 0;

    const cleanup = () => {
      ctx.signal?.removeEventListener("abort", onAbort);
      client.removeListener("ready", onReady);
      client.removeListener("error", onError);
      client.removeListener("close", onClose);
    };
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      cleanup();
      // A late 'error' from the dying socket must find a listener, or Node throws it.
      client.on("error", () => {});
      client.end();
      client.destroy();
      reject(err);
    };
    const onReady = () => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve({ client, hostKey: hostKey ?? "unknown", hostPublicKey });
    };
    const onError = (err: Error & ConnectFailure) => {
      // An agent that cannot sign or answer is one failed method, not a failed connection:
      // ssh2 reports it and moves on to the next method.
      if (err.level === "agent") {
        log(`ssh: agent error: ${err.message}`);
        return;
      }
      if (mismatch !== undefined) {
        return fail(new SshHostKeyMismatchError(target.host, target.port, ctx.pinned ?? "", mismatch, ctx.machineName));
      }
      if (err.level === "client-authentication") {
        return fail(
          new SshAuthError(target.host, target.port, target.user, tried, {
            serverMethods: serverMethods?.filter((m) => m !== "none"),
            hints: ctx.plan.hints,
            cause: err,
          }),
        );
      }
      fail(err);
    };
    const onClose = () => {
      // Closed without an 'error' (e.g. the server hung up mid-handshake): retryable.
      const err = new Error("the connection was closed before the session was ready") as Error & ConnectFailure;
      err.level = "protocol";
      onError(err);
    };
    const onAbort = () => fail(abortError(ctx.signal, `connecting to ${hostPort(target.host, target.port)}`));

    client.on("ready", onReady);
    client.on("error", onError);
    client.on("close", onClose);
    ctx.signal?.addEventListener("abort", onAbort, { once: true });

    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      readyTimeout: timeoutMs,
      keepaliveInterval: KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      algorithms: ctx.algorithms,
      // Without hostHash ssh2 hands over the raw key blob, which OpenSSH's SHA256: fingerprint is computed from.
      hostVerifier: (key: Buffer): boolean => {
        hostKey = formatHostKey(key);
        hostPublicKey = `${keyTypeOfBlob(key)} ${key.toString("base64")}`;
        if (ctx.pinned === undefined) {
          log(`ssh: first contact, host key ${hostKey}`);
          return true;
        }
        if (hostKeyMatches(ctx.pinned, hostKey)) {
          log(`ssh: host key ${hostKey} matches the pinned key`);
          return true;
        }
        // Refusing here aborts the key exchange: the client never authenticates to this server.
        mismatch = hostKey;
        log(`ssh: host key ${hostKey} does not match the pinned ${ctx.pinned}`);
        return false;
      },
      authHandler: (authsLeft, _partialSuccess, nextAuth) => {
        if (Array.isArray(authsLeft)) serverMethods = authsLeft;
        const choice = ctx.plan.methods[next++];
        if (choice === undefined) {
          // `false` ends authentication with ssh2's "All configured authentication methods failed".
          (nextAuth as unknown as (m: false) => void)(false);
          return;
        }
        tried.push(choice.label);
        log(`ssh: trying ${choice.label}`);
        nextAuth(choice.method);
      },
    };
    try {
      client.connect(config);
    } catch (err) {
      fail(new SshConnectError(target.host, target.port, (err as Error).message, { cause: err }));
    }
  });
}

/**
 * Connects with retries: healing errors (connection refused, timeouts, resets, a server
 * hanging up before the handshake) are retried with exponential backoff (250 ms doubling
 * to 5 s) until `deadlineMs`; each attempt's handshake timeout is bounded by what is left.
 * Host key mismatches, authentication failures and unusable key files fail at once.
 */
export const ssh2Connector: SshConnector = async (options: SshConnectOptions): Promise<SshSession> => {
  const { target, signal } = options;
  const log: Log = options.log ?? (() => {});
  const env: Env = options.env ?? process.env;
  const started = Date.now();
  const deadline = started + (options.deadlineMs ?? DEFAULT_DEADLINE_MS);
  const where = hostPort(target.host, target.port);
  if (signal?.aborted) throw abortError(signal, `connecting to ${where}`);

  let algorithms: ConnectConfig["algorithms"];
  if (options.pinnedHostKey !== undefined) {
    const pinned = parseHostKey(options.pinnedHostKey);
    if (!pinned) {
      throw new SshConnectError(
        target.host,
        target.port,
        `the pinned host key ${JSON.stringify(options.pinnedHostKey)} is not in the form "<type> SHA256:<fingerprint>"`,
      );
    }
    const order = hostKeyAlgorithmsFor(pinned.type);
    if (order) algorithms = { serverHostKey: order as NonNullable<ConnectConfig["algorithms"]>["serverHostKey"] };
  }

  const ssh2 = await loadSsh2();
  const plan = await planAuthentication(target, env, log);
  const ctx: AttemptContext = {
    ssh2,
    target,
    plan,
    pinned: options.pinnedHostKey,
    algorithms,
    signal,
    log,
    machineName: options.machineName,
  };

  let attempts = 0;
  for (;;) {
    attempts++;
    const timeout = Math.max(MIN_ATTEMPT_MS, Math.min(MAX_ATTEMPT_TIMEOUT_MS, deadline - Date.now()));
    log(`ssh: connecting to ${target.user}@${where} (attempt ${attempts}, handshake timeout ${timeout} ms)`);
    try {
      const { client, hostKey, hostPublicKey } = await attemptConnect(ctx, timeout);
      log(`ssh: connected to ${where} after ${attempts} attempt(s) in ${Date.now() - started} ms`);
      return new Ssh2Session(client, hostKey, hostPublicKey, target, env, log);
    } catch (err) {
      if (err instanceof TsmError) throw err;
      const failure = err as Error & ConnectFailure;
      const elapsed = () => Date.now() - started;
      if (!isRetryableConnectError(failure)) {
        if (failure.code === "ENOTFOUND") {
          throw new SshUnreachableError(target.host, target.port, attempts, elapsed(), `the host name does not resolve (${failure.message})`, {
            cause: err,
          });
        }
        throw new SshConnectError(target.host, target.port, failure.message, { cause: err });
      }
      const left = deadline - Date.now();
      if (left <= MIN_ATTEMPT_MS) {
        throw new SshUnreachableError(target.host, target.port, attempts, elapsed(), failure.message, { cause: err });
      }
      const wait = Math.min(backoffMs(attempts), left - MIN_ATTEMPT_MS);
      log(`ssh: attempt ${attempts} failed (${failure.message}); retrying in ${wait} ms`);
      await sleep(wait, signal, `connecting to ${where}`);
    }
  }
};

/** A session's connection-loss bookkeeping: every pending operation registers how to fail. */
type LostHandler = (err: SshConnectionLostError) => void;

class Ssh2Session implements SshSession {
  private lost: { reason: string; cause?: unknown } | undefined;
  private lastError: Error | undefined;
  private closedByUs = false;
  private readonly pending = new Map<LostHandler, string>();
  private sftpChannel: Promise<SFTPWrapper> | undefined;
  private freeChannels = MAX_CONCURRENT_CHANNELS;
  private readonly channelWaiters: Array<() => void> = [];

  constructor(
    private readonly client: Client,
    readonly hostKey: string,
    readonly hostPublicKey: string,
    private readonly target: SshTarget,
    private readonly env: Env,
    private readonly log: Log,
  ) {
    client.on("error", (err: Error) => {
      this.lastError = err;
      log(`ssh: connection error: ${err.message}`);
    });
    // 'close' comes before ssh2 closes the channels, so pending operations learn the
    // reason here, not from a channel that merely looks finished.
    client.on("close", () => this.onClose());
  }

  private onClose(): void {
    if (this.lost) return;
    this.lost = {
      reason: this.closedByUs
        ? "the session was closed"
        : this.lastError
          ? this.lastError.message
          : "the server closed the connection",
      cause: this.lastError,
    };
    this.log(`ssh: connection to ${hostPort(this.target.host, this.target.port)} closed: ${this.lost.reason}`);
    const handlers = [...this.pending.entries()];
    this.pending.clear();
    for (const [handler, operation] of handlers) handler(this.lostError(operation));
  }

  private lostError(operation: string): SshConnectionLostError {
    return new SshConnectionLostError(this.target.host, this.target.port, operation, {
      reason: this.lost?.reason,
      cause: this.lost?.cause,
    });
  }

  /** Registers a pending operation; returns the function that unregisters it. */
  private track(operation: string, onLost: LostHandler): () => void {
    this.pending.set(onLost, operation);
    return () => this.pending.delete(onLost);
  }

  private acquireChannel(): Promise<() => void> {
    const release = () => {
      const waiter = this.channelWaiters.shift();
      if (waiter) waiter();
      else this.freeChannels++;
    };
    if (this.freeChannels > 0) {
      this.freeChannels--;
      return Promise.resolve(once(release));
    }
    return new Promise((resolve) => this.channelWaiters.push(() => resolve(once(release))));
  }

  /**
   * Asks ssh2 for a channel. ssh2 throws synchronously ("Not connected") when the socket
   * has already gone but 'close' has not been emitted yet: that is a lost connection too.
   */
  private openChannel(
    operation: string,
    onThrow: (err: SshConnectionLostError) => void,
    open: (cb: (err: Error | undefined, ch: ClientChannel) => void) => void,
    cb: (err: Error | undefined, ch: ClientChannel) => void,
  ): void {
    try {
      open(cb);
    } catch (err) {
      onThrow(
        this.lost
          ? this.lostError(operation)
          : new SshConnectionLostError(this.target.host, this.target.port, operation, { reason: (err as Error).message, cause: err }),
      );
    }
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const operation = `the command "${abbreviate(command)}"`;
    return new Promise<ExecResult>((resolve, reject) => {
      if (this.lost) return reject(this.lostError(operation));
      const { signal, timeoutMs } = options;
      if (signal?.aborted) return reject(abortError(signal, `running ${operation}`));

      let channel: ClientChannel | undefined;
      let done = false;
      let release: (() => void) | undefined;
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let exitCode: number | undefined;
      let exitSignal: string | undefined;

      const stopChannel = () => {
        if (!channel) return;
        // Ask for SIGKILL first (OpenSSH signals the command's whole process group), then
        // close: closing alone leaves a non-PTY command running until it touches its pipes.
        sendSignal(this.client, channel, "KILL");
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
      const untrack = this.track(operation, (err) => finish(() => reject(err)));
      const timer =
        timeoutMs !== undefined && timeoutMs > 0
          ? setTimeout(() => {
              stopChannel();
              finish(() => reject(new SshCommandTimeoutError(this.target.host, this.target.port, command, timeoutMs)));
            }, timeoutMs)
          : undefined;
      const onAbort = () => {
        stopChannel();
        finish(() => reject(abortError(signal, `running ${operation}`)));
      };
      signal?.addEventListener("abort", onAbort, { once: true });

      void this.acquireChannel().then((rel) => {
        if (done) return rel();
        release = rel;
        const execOptions = options.pty ? { pty: { term: "xterm-256color", cols: 200, rows: 50 } } : {};
        this.openChannel(operation, (err) => finish(() => reject(err)), (cb) => this.client.exec(command, execOptions, cb), (err, ch) => {
          if (err) {
            if (this.lost) return finish(() => reject(this.lostError(operation)));
            return finish(() =>
              reject(new SshConnectError(this.target.host, this.target.port, `the server refused a channel for ${operation}: ${err.message}`, { cause: err })),
            );
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
          ch.on("exit", (code: number | null, signalName?: string) => {
            if (typeof code === "number") exitCode = code;
            else if (signalName) exitSignal = signalName.replace(/^SIG/, ""); // ssh2 says "SIGTERM", RFC 4254 "TERM"
          });
          ch.on("close", () => {
            // On a lost connection the session's close handler has already rejected.
            if (this.lost) return finish(() => reject(this.lostError(operation)));
            finish(() =>
              resolve({
                stdout: Buffer.concat(stdout).toString("utf8"),
                stderr: Buffer.concat(stderr).toString("utf8"),
                exitCode: exitCode ?? signalExitCode(exitSignal),
                ...(exitSignal !== undefined ? { signal: exitSignal } : {}),
              }),
            );
          });
          // Closing stdin is what lets `cat`, `sudo tee FILE` and friends finish.
          if (options.input !== undefined) ch.end(options.input);
          else ch.end();
        });
      });
    });
  }

  interactive(options: InteractiveOptions): Promise<number> {
    const operation = options.command === undefined ? "the interactive shell" : `the command "${abbreviate(options.command)}"`;
    return new Promise<number>((resolve, reject) => {
      if (this.lost) return reject(this.lostError(operation));
      const stdin = options.stdin as NodeJS.ReadStream;
      const stdout = options.stdout as NodeJS.WriteStream;
      const ttyOut = stdout.isTTY === true;
      const window = {
        term: options.term ?? this.env.TERM ?? "xterm-256color",
        cols: ttyOut && stdout.columns ? stdout.columns : (options.cols ?? 80),
        rows: ttyOut && stdout.rows ? stdout.rows : (options.rows ?? 24),
        width: 0,
        height: 0,
      };
      let channel: ClientChannel | undefined;
      let done = false;
      let rawWas: boolean | undefined;
      let exitCode: number | undefined;
      let exitSignal: string | undefined;
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
      const untrack = this.track(operation, (err) => finish(() => reject(err)));
      const onChannel = (err: Error | undefined, ch: ClientChannel) => {
        if (err) {
          if (this.lost) return finish(() => reject(this.lostError(operation)));
          return finish(() =>
            reject(new SshConnectError(this.target.host, this.target.port, `the server refused a channel for ${operation}: ${err.message}`, { cause: err })),
          );
        }
        channel = ch;
        if (done) return ch.close();
        if (options.pty && stdin.isTTY === true && typeof stdin.setRawMode === "function") {
          // The remote PTY does line editing and signals; the local terminal must pass keys through untouched.
          rawWas = stdin.isRaw;
          stdin.setRawMode(true);
        }
        if (ttyOut && options.pty) stdout.on("resize", onResize);
        ch.on("exit", (code: number | null, signalName?: string) => {
          if (typeof code === "number") exitCode = code;
          else if (signalName) exitSignal = signalName.replace(/^SIG/, ""); // ssh2 says "SIGTERM", RFC 4254 "TERM"
        });
        ch.on("close", () => {
          if (this.lost) return finish(() => reject(this.lostError(operation)));
          finish(() => resolve(exitCode ?? signalExitCode(exitSignal)));
        });
        ch.stdout.pipe(options.stdout, { end: false });
        ch.stderr.pipe(options.stderr, { end: false });
        stdin.pipe(ch);
        stdin.resume?.();
      };
      const pty = options.pty ? window : false;
      const command = options.command;
      this.openChannel(
        operation,
        (err) => finish(() => reject(err)),
        (cb) => (command === undefined ? this.client.shell(pty, cb) : this.client.exec(command, pty ? { pty } : {}, cb)),
        onChannel,
      );
    });
  }

  // SFTP ---------------------------------------------------------------------------------

  private sftp(): Promise<SFTPWrapper> {
    if (this.lost) return Promise.reject(this.lostError("opening SFTP"));
    this.sftpChannel ??= new Promise<SFTPWrapper>((resolve, reject) => {
      const untrack = this.track("opening SFTP", reject);
      const onSftp = (err: Error | undefined, sftp: SFTPWrapper) => {
        untrack();
        if (err) {
          this.sftpChannel = undefined;
          if (this.lost) return reject(this.lostError("opening SFTP"));
          return reject(
            new SshConnectError(this.target.host, this.target.port, `the SFTP subsystem is not available (${err.message}); check the server's "Subsystem sftp" setting`, {
              cause: err,
            }),
          );
        }
        sftp.on("error", (e: Error) => this.log(`ssh: sftp error: ${e.message}`));
        sftp.on("close", () => {
          this.sftpChannel = undefined;
        });
        resolve(sftp);
      };
      try {
        this.client.sftp(onSftp);
      } catch (err) {
        untrack();
        this.sftpChannel = undefined;
        reject(new SshConnectionLostError(this.target.host, this.target.port, "opening SFTP", { reason: (err as Error).message, cause: err }));
      }
    });
    return this.sftpChannel;
  }

  /** Runs one SFTP request; failures name the remote file, connection loss is SshConnectionLostError. */
  private async sftpCall<T>(verb: string, remotePath: string, call: (sftp: SFTPWrapper, cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    const sftp = await this.sftp();
    const operation = `SFTP ${verb} ${remotePath}`;
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const untrack = this.track(operation, (err) => {
        done = true;
        reject(err);
      });
      try {
        call(sftp, (err, value) => {
          if (done) return;
          done = true;
          untrack();
          if (err) {
            if (this.lost) return reject(this.lostError(operation));
            return reject(this.remoteFileError(verb, remotePath, err));
          }
          resolve(value as T);
        });
      } catch (err) {
        done = true;
        untrack();
        reject(err);
      }
    });
  }

  private remoteFileError(verb: string, remotePath: string, err: Error): SshFileTransferError {
    return new SshFileTransferError(verb, `${hostPort(this.target.host, this.target.port)}:${remotePath}`, sftpReason(err), { cause: err });
  }

  /** The remote file's attributes (symlinks followed), or undefined when it does not exist. */
  private async remoteStat(remotePath: string): Promise<Stats | undefined> {
    try {
      return await this.sftpCall<Stats>("stat", remotePath, (s, cb) => s.stat(remotePath, cb));
    } catch (err) {
      if (err instanceof SshFileTransferError && isNoSuchFile(err.cause)) return undefined;
      throw err;
    }
  }

  async writeFile(remotePath: string, content: string | Buffer, mode: number): Promise<void> {
    const dir = path.posix.dirname(remotePath);
    const tmp = path.posix.join(dir, `.${path.posix.basename(remotePath)}.tsm-${randomBytes(6).toString("hex")}`);
    const data = typeof content === "string" ? Buffer.from(content, "utf8") : content;
    try {
      await this.sftpCall<void>("write", remotePath, (s, cb) => s.writeFile(tmp, data, { mode }, (err) => cb(err)));
      // The open() mode went through the server's umask; set it exactly before the file appears under its name.
      await this.sftpCall<void>("chmod", remotePath, (s, cb) => s.chmod(tmp, mode, (err) => cb(err)));
      await this.rename(tmp, remotePath);
    } catch (err) {
      if (!this.lost) {
        await this.sftpCall<void>("remove", tmp, (s, cb) => s.unlink(tmp, (e) => cb(e))).catch(() => undefined);
      }
      throw err;
    }
  }

  /** Replaces `to` atomically with OpenSSH's posix-rename extension; plain SFTP rename refuses an existing target. */
  private async rename(from: string, to: string): Promise<void> {
    try {
      await this.sftpCall<void>("rename onto", to, (s, cb) => s.ext_openssh_rename(from, to, (err) => cb(err)));
      return;
    } catch (err) {
      if (!(err instanceof Error && /does not support/i.test(err.message))) throw err;
    }
    this.log("ssh: server lacks posix-rename@openssh.com; replacing the file in two steps");
    await this.sftpCall<void>("remove", to, (s, cb) => s.unlink(to, (e) => cb(e))).catch((e: unknown) => {
      if (!(e instanceof SshFileTransferError && isNoSuchFile(e.cause))) throw e;
    });
    await this.sftpCall<void>("rename onto", to, (s, cb) => s.rename(from, to, (err) => cb(err)));
  }

  readFile(remotePath: string): Promise<Buffer> {
    return this.sftpCall<Buffer>("read", remotePath, (s, cb) => s.readFile(remotePath, cb));
  }

  async upload(localPath: string, remotePath: string, options: TransferOptions): Promise<void> {
    const st = await localStat(localPath, "upload");
    let dest = remotePath;
    const existing = await this.remoteStat(remotePath);
    if (existing?.isDirectory()) dest = path.posix.join(remotePath, path.basename(path.resolve(localPath)));
    if (st.isDirectory()) {
      if (!options.recursive) throw new SshFileTransferError("upload", localPath, "it is a directory (copy directories recursively, with -r)");
      await this.uploadDir(localPath, dest, st.mode & 0o777, new Set());
    } else if (st.isFile()) {
      await this.uploadFile(localPath, dest, st.mode & 0o777);
    } else {
      throw new SshFileTransferError("upload", localPath, "it is not a regular file or directory");
    }
  }

  private async uploadFile(localPath: string, remotePath: string, mode: number): Promise<void> {
    this.log(`ssh: upload ${localPath} -> ${remotePath}`);
    // fastPut reads the local file itself; check it opens first so a local problem is reported as local.
    await new Promise<void>((resolve, reject) => {
      const s = createReadStream(localPath, { start: 0, end: 0 });
      s.on("error", (err) => reject(new SshFileTransferError("upload", localPath, (err as NodeJS.ErrnoException).code ?? err.message, { cause: err })));
      s.on("open", () => {
        s.destroy();
        resolve();
      });
    });
    await this.sftpCall<void>("upload to", remotePath, (s, cb) => s.fastPut(localPath, remotePath, { mode }, (err) => cb(err)));
  }

  private async uploadDir(localDir: string, remoteDir: string, mode: number, seen: Set<string>): Promise<void> {
    const st = await localStat(localDir, "upload");
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) {
      this.log(`ssh: skipping ${localDir}: symlink loop`);
      return;
    }
    seen.add(id);
    const existing = await this.remoteStat(remoteDir);
    if (existing === undefined) {
      await this.sftpCall<void>("create directory", remoteDir, (s, cb) => s.mkdir(remoteDir, { mode }, (err) => cb(err)));
    } else if (!existing.isDirectory()) {
      throw this.remoteFileError("upload to", remoteDir, new Error("it exists and is not a directory"));
    }
    let entries;
    try {
      entries = await readdir(localDir);
    } catch (err) {
      throw new SshFileTransferError("upload", localDir, (err as NodeJS.ErrnoException).code ?? (err as Error).message, { cause: err });
    }
    for (const name of entries.sort()) {
      const local = path.join(localDir, name);
      const remote = path.posix.join(remoteDir, name);
      let est;
      try {
        est = await stat(local); // follows symlinks, like scp -r
      } catch {
        this.log(`ssh: skipping ${local}: broken symlink or vanished`);
        continue;
      }
      if (est.isDirectory()) await this.uploadDir(local, remote, est.mode & 0o777, seen);
      else if (est.isFile()) await this.uploadFile(local, remote, est.mode & 0o777);
      else this.log(`ssh: skipping ${local}: not a regular file`);
    }
  }

  async download(remotePath: string, localPath: string, options: TransferOptions): Promise<void> {
    const st = await this.remoteStat(remotePath);
    if (st === undefined) throw this.remoteFileError("download", remotePath, Object.assign(new Error("No such file"), { code: 2 }));
    let dest = localPath;
    const existing = await stat(localPath).catch(() => undefined);
    if (existing?.isDirectory()) dest = path.join(localPath, path.posix.basename(remotePath.replace(/\/+$/, "")) || "root");
    if (st.isDirectory()) {
      if (!options.recursive) throw this.remoteFileError("download", remotePath, new Error("it is a directory (copy directories recursively, with -r)"));
      await this.downloadDir(remotePath, dest, st.mode & 0o777, 0);
    } else if (st.isFile()) {
      await this.downloadFile(remotePath, dest, st.mode & 0o777);
    } else {
      throw this.remoteFileError("download", remotePath, new Error("it is not a regular file or directory"));
    }
  }

  private async downloadFile(remotePath: string, localPath: string, mode: number): Promise<void> {
    this.log(`ssh: download ${remotePath} -> ${localPath}`);
    await this.sftpCall<void>("download", remotePath, (s, cb) => s.fastGet(remotePath, localPath, { mode }, (err) => cb(err)));
  }

  /** Remote symlinks are followed; the depth bound stops a link loop, which SFTP gives no inode numbers to detect. */
  private async downloadDir(remoteDir: string, localDir: string, mode: number, depth: number): Promise<void> {
    if (depth > 64) throw this.remoteFileError("download", remoteDir, new Error("directories nested more than 64 deep (a symlink loop?)"));
    try {
      await mkdir(localDir, { mode: mode | 0o700 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const isDir = code === "EEXIST" && (await stat(localDir).catch(() => undefined))?.isDirectory();
      if (!isDir) throw new SshFileTransferError("create", localDir, code ?? (err as Error).message, { cause: err });
    }
    const entries = await this.sftpCall<Array<{ filename: string; attrs: Stats }>>("list", remoteDir, (s, cb) => s.readdir(remoteDir, cb));
    for (const entry of entries.sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0))) {
      if (entry.filename === "." || entry.filename === "..") continue;
      const remote = path.posix.join(remoteDir, entry.filename);
      const local = path.join(localDir, entry.filename);
      let attrs = entry.attrs;
      if (attrs.isSymbolicLink()) {
        const target = await this.remoteStat(remote);
        if (!target) {
          this.log(`ssh: skipping ${remote}: broken symlink`);
          continue;
        }
        attrs = target;
      }
      if (attrs.isDirectory()) await this.downloadDir(remote, local, attrs.mode & 0o777, depth + 1);
      else if (attrs.isFile()) await this.downloadFile(remote, local, attrs.mode & 0o777);
      else this.log(`ssh: skipping ${remote}: not a regular file`);
    }
  }

  close(): void {
    if (this.closedByUs) return;
    this.closedByUs = true;
    this.client.end();
  }
}

async function localStat(localPath: string, verb: string) {
  try {
    return await stat(localPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SshFileTransferError(verb, localPath, code === "ENOENT" ? "no such file or directory" : (code ?? (err as Error).message), { cause: err });
  }
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
    // connection already gone: nothing to signal
  }
}

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}

/** 128 + the signal's number, as shells report it; 255 (OpenSSH's "no status") otherwise. */
export function signalExitCode(signalName: string | undefined): number {
  if (signalName === undefined) return 255;
  const n = (os.constants.signals as Record<string, number | undefined>)[`SIG${signalName}`];
  return n === undefined ? 255 : 128 + n;
}

/** SFTP status 2 (SSH_FX_NO_SUCH_FILE). */
function isNoSuchFile(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 2;
}

function sftpReason(err: Error): string {
  const code = (err as { code?: unknown }).code;
  if (code === 2) return "no such file or directory";
  if (code === 3) return "permission denied";
  return err.message;
}
