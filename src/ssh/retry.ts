/**
 * Which connection failures can heal by waiting (a host still booting, sshd restarting,
 * a network blip) and how long to wait between attempts. Pure: no ssh2 here, so the
 * table is unit-tested exactly.
 */

/** The fields of an ssh2 or socket error that classification looks at. */
export interface ConnectFailure {
  message: string;
  /** errno code for socket errors ("ECONNREFUSED"...). */
  code?: string;
  /** ssh2's `level`: "client-socket", "client-timeout", "protocol", "handshake", "client-authentication", "agent"... */
  level?: string;
}

/** Socket errors of a host that is down, booting or restarting sshd, or of a network that is flapping. */
const RETRYABLE_CODES = new Set([
  "ECONNREFUSED", // nothing listens yet: sshd not started
  "ETIMEDOUT",
  "EHOSTUNREACH", // no route yet: VM network still coming up, ARP not answered
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "ECONNRESET", // sshd dropped us: MaxStartups, or restarting
  "ECONNABORTED",
  "EPIPE",
  "EAI_AGAIN", // temporary DNS failure
]);

/** ssh2 messages for a connection that died before the SSH handshake finished. */
const RETRYABLE_MESSAGES = [
  /Timed out while waiting for handshake/i,
  /Connection lost before handshake/i,
  /closed before the session was ready/i, // our own, for a close without an error event
];

/**
 * True when another attempt may succeed. Never true for authentication failures,
 * host key mismatches, unknown host names or protocol incompatibilities: retrying
 * those only delays a clear error (and, for auth, may trip the server's lockouts).
 */
export function isRetryableConnectError(err: ConnectFailure): boolean {
  if (err.level === "client-authentication") return false;
  if (err.level === "handshake") return false; // host key denied, no common algorithm
  if (err.code !== undefined && RETRYABLE_CODES.has(err.code)) return true;
  if (err.level === "client-timeout") return true;
  return RETRYABLE_MESSAGES.some((re) => re.test(err.message));
}

export const INITIAL_BACKOFF_MS = 250;
export const MAX_BACKOFF_MS = 5_000;

/** Delay before attempt n+1 (n >= 1): 250 ms doubling up to 5 s. */
export function backoffMs(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** Math.max(0, attempt - 1));
}

/** Per-attempt handshake timeout: long enough for a slow emulated VM, never past the overall deadline. */
export const MAX_ATTEMPT_TIMEOUT_MS = 20_000;

/** Below this much time left, another attempt cannot complete a handshake: give up instead. */
export const MIN_ATTEMPT_MS = 100;
