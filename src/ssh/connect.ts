/**
 * Connecting: from an SshTarget to a ready ssh2 Client, host key checked and authenticated.
 *
 * Contract: `connect` loads ssh2 (lazily, load.ts), plans authentication (auth.ts: key
 * file, ssh-agent, default keys), and checks the server's host key against the pinned
 * one during key exchange, before any authentication. Healing failures (connection
 * refused, timeouts, resets, a server hanging up before the handshake; retry.ts) are
 * retried with backoff until the deadline, each handshake bounded by what is left; the
 * last one becomes SshUnreachableError. Host key mismatches, authentication failures,
 * unusable key files, unknown host names and aborts fail at once, as TsmErrors.
 * The client it resolves with keeps sending keepalives; what happens on it later is
 * connection.ts's business.
 */
import type { Client, ConnectConfig } from "ssh2";
import { abortError, sleep } from "../model/abort.js";
import { TsmError } from "../model/errors.js";
import { planAuthentication, type AuthPlan } from "./auth.js";
import type { SshConnectOptions, SshTarget } from "./client.js";
import type { Env, Log } from "./connection.js";
import { SshAuthError, SshConnectError, SshHostKeyMismatchError, SshUnreachableError, hostPort } from "./errors.js";
import { formatHostKey, hostKeyAlgorithmsFor, hostKeyMatches, keyTypeOfBlob, parseHostKey } from "./host-key.js";
import { loadSsh2, type Ssh2Module } from "./load.js";
import { MAX_ATTEMPT_TIMEOUT_MS, MIN_ATTEMPT_MS, backoffMs, isRetryableConnectError, type ConnectFailure } from "./retry.js";

export const DEFAULT_DEADLINE_MS = 60_000;
/** Keepalives every 10 s, 3 unanswered = dead: a vanished host is noticed in ~30-40 s, not at TCP's pace (minutes). */
export const KEEPALIVE_INTERVAL_MS = 10_000;
export const KEEPALIVE_COUNT_MAX = 3;

/** A ready client and the host key it verified: "<type> SHA256:<b64>" and "<type> <base64 blob>". */
export interface Connected {
  client: Client;
  hostKey: string;
  hostPublicKey: string;
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
function attemptConnect(ctx: AttemptContext, timeoutMs: number): Promise<Connected> {
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
 * Connects with retries: healing errors are retried with exponential backoff (250 ms
 * doubling to 5 s) until `deadlineMs`; each attempt's handshake timeout is bounded by what
 * is left. Host key mismatches, authentication failures and unusable key files fail at once.
 */
export async function connect(options: SshConnectOptions, log: Log, env: Env): Promise<Connected> {
  const { target, signal } = options;
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
      const connected = await attemptConnect(ctx, timeout);
      log(`ssh: connected to ${where} after ${attempts} attempt(s) in ${Date.now() - started} ms`);
      return connected;
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
}
