/**
 * One live ssh2 connection as the session's channels and SFTP share it.
 *
 * Contract: `Connection` notices when the connection dies (the server hung up, keepalives
 * went unanswered, or `close()` was called) and then fails every operation still pending
 * with SshConnectionLostError naming that operation; once lost it stays lost. Operations
 * register with `track`, ask for a channel with `openChannel` (a synchronous throw from
 * ssh2 is a lost connection too), and prefer `orLost` over their own error when the
 * connection is gone. `acquireChannel` bounds how many commands hold a channel at once.
 * No ssh2 is loaded here (types only): the client comes from connect.ts.
 */
import type { Client } from "ssh2";
import type { SshTarget } from "./client.js";
import { SshConnectionLostError, hostPort } from "./errors.js";

/** Debug lines of the SSH layer (SshConnectOptions.log). */
export type Log = (line: string) => void;
/** The environment the session reads: SSH_AUTH_SOCK, HOME, TERM (SshConnectOptions.env). */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * OpenSSH allows 10 sessions per connection (MaxSessions). Commands beyond this many at
 * once wait for a free channel instead of failing with "open failed"; the rest of the
 * budget is for the SFTP channel and an interactive session.
 */
export const MAX_CONCURRENT_CHANNELS = 8;

/** How a pending operation fails when the connection is lost. */
type LostHandler = (err: SshConnectionLostError) => void;

export class Connection {
  private lostWith: { reason: string; cause?: unknown } | undefined;
  private lastError: Error | undefined;
  private closedByUs = false;
  private readonly pending = new Map<LostHandler, string>();
  private freeChannels = MAX_CONCURRENT_CHANNELS;
  private readonly channelWaiters: Array<() => void> = [];

  constructor(
    readonly client: Client,
    readonly target: SshTarget,
    readonly log: Log,
  ) {
    client.on("error", (err: Error) => {
      this.lastError = err;
      log(`ssh: connection error: ${err.message}`);
    });
    // 'close' comes before ssh2 closes the channels, so pending operations learn the
    // reason here, not from a channel that merely looks finished.
    client.on("close", () => this.onClose());
  }

  /** True once the connection has gone, for whatever reason. */
  get lost(): boolean {
    return this.lostWith !== undefined;
  }

  private onClose(): void {
    if (this.lostWith) return;
    this.lostWith = {
      reason: this.closedByUs
        ? "the session was closed"
        : this.lastError
          ? this.lastError.message
          : "the server closed the connection",
      cause: this.lastError,
    };
    this.log(`ssh: connection to ${hostPort(this.target.host, this.target.port)} closed: ${this.lostWith.reason}`);
    const handlers = [...this.pending.entries()];
    this.pending.clear();
    for (const [handler, operation] of handlers) handler(this.lostError(operation));
  }

  /** The error for `operation` on the lost connection, with the reason it was lost. */
  lostError(operation: string): SshConnectionLostError {
    return new SshConnectionLostError(this.target.host, this.target.port, operation, {
      reason: this.lostWith?.reason,
      cause: this.lostWith?.cause,
    });
  }

  /** `err`, unless the connection is lost: then that is what `operation` reports. */
  orLost(operation: string, err: Error): Error {
    return this.lost ? this.lostError(operation) : err;
  }

  /** Registers a pending operation; returns the function that unregisters it. */
  track(operation: string, onLost: LostHandler): () => void {
    this.pending.set(onLost, operation);
    return () => this.pending.delete(onLost);
  }

  /** A channel slot, waiting while MAX_CONCURRENT_CHANNELS commands hold one; resolves with its release (safe to call twice). */
  acquireChannel(): Promise<() => void> {
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
   * Asks ssh2 for a channel (or the SFTP subsystem). ssh2 throws synchronously ("Not
   * connected") when the socket has already gone but 'close' has not been emitted yet:
   * that is a lost connection too, reported to `onThrow`.
   */
  openChannel<T>(
    operation: string,
    onThrow: (err: SshConnectionLostError) => void,
    open: (cb: (err: Error | undefined, ch: T) => void) => void,
    cb: (err: Error | undefined, ch: T) => void,
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

  /** Ends the connection; pending operations reject with SshConnectionLostError. Idempotent. */
  close(): void {
    if (this.closedByUs) return;
    this.closedByUs = true;
    this.client.end();
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
