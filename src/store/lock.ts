/**
 * Inter-process locks, the one helper for the store, the machines and the image cache,
 * so that concurrent tsm processes never corrupt or lose a record or download twice.
 *
 * A lock is the file `<locksDir>/<lockName>.lock`, made atomically: the holder's identity is
 * written to a private temporary file which is then hard-linked to the lock's name (link
 * fails if the name exists), so a lock is never seen half-written. It names its holder: the
 * pid, the process's start time (Linux: /proc/<pid>/stat, so that a pid reused by another
 * process is not taken for the holder), the boot (a lock from before a reboot is dead), the
 * host name, the command line (for messages) and a nonce of its own.
 *
 * Staleness is decided by liveness, never by age: a lock whose holder is alive (even stopped
 * for hours: SIGSTOP, a suspended laptop) is never taken; one whose holder is dead is taken
 * at once. The holder writes nothing while it holds the lock, so nothing can "compromise" it.
 * A lock from another host (the same store over NFS) cannot be checked and is never taken
 * automatically: the waiter's LOCKED error names the file to remove once that process is gone.
 * Where start times cannot be read (not Linux) a live pid is taken for the holder: a reused
 * pid then makes a waiter time out with LOCKED (naming the holder), never take a live lock.
 *
 * Taking a dead holder's lock is itself serialised: the taker first creates
 * `<lock>.break-<nonce of the dead lock>` exclusively, checks under it that the lock still
 * carries that nonce, and only then removes it, so two waiters can never both remove it, nor
 * one of them remove the lock the other has just taken.
 *
 * Locks left by older tsm versions (proper-lockfile directories, refreshed every few seconds
 * while held) are still honoured: one untouched for 10 s is taken, as those versions did.
 *
 * Store locks live in `<root>/locks/`, not beside the machine directories, so a lock can
 * never be mistaken for a machine (`x.lock` is a valid machine name). Lock file names stay far
 * below the 255-byte limit of file names whatever the lock's name: a long one is shortened
 * with a hash.
 */
import { linkSync, mkdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { abortError, followingSignal, sleep } from "../model/abort.js";
import { TsmError } from "../model/errors.js";

/** What a waiter is told, once, after waiting `noticeMs`. */
export interface LockWait {
  /** "Waiting for <what>, held by <command> (pid <pid>)..." */
  readonly message: string;
  /** The holder as its lock names it; undefined for a lock of an older tsm or one being written. */
  readonly holder: LockHolder | undefined;
}

export interface LockOptions {
  /** Aborting stops the wait at once (InterruptedError, or the signal's TsmError reason). */
  signal?: AbortSignal;
  /** How long to wait for another holder before giving up with LOCKED; default 120 s. Infinity waits until aborted. */
  waitMs?: number;
  /** Called once, when another holder has made us wait `noticeMs`: what we wait for and who holds it. */
  onWait?: (wait: LockWait) => void;
  /** How long a wait lasts before `onWait` is called; default 1 s (0: as soon as the lock is found held). */
  noticeMs?: number;
  /** Turns a failure to take the lock (other than it being held) into tsm's error; default a STORE error naming the file. */
  lockFailure?: (lockfile: string, err: unknown) => unknown;
  /** What the waiter waits for, in messages ("waiting for <what>"). */
  what?: string;
  /** This process's command line as other processes' messages show it; default from process.argv. */
  command?: string;
}

/** Who holds a lock: what its file records. */
export interface LockHolder {
  readonly pid: number;
  /** The process's start time (Linux: field 22 of /proc/<pid>/stat, in clock ticks since boot). */
  readonly start?: string;
  /** Linux's boot id: a lock recorded in another boot has a dead holder. */
  readonly boot?: string;
  readonly host: string;
  /** The holder's command line, for messages (credentials redacted). */
  readonly command: string;
  /** When the lock was taken (ISO time). */
  readonly since: string;
  /** Unique to this taking of the lock. */
  readonly nonce: string;
}

/** Whether a lock's holder is running: on this host and alive, dead, or on another host (unknowable). */
export type HolderState = "alive" | "dead" | "remote";

/** Runs `fn` while holding `<locksDir>/<lockName>.lock`; always releases it. */
export async function withLock<T>(locksDir: string, lockName: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const file = path.join(locksDir, `${await fileSafeName(lockName)}.lock`);
  const fail = (err: unknown): unknown =>
    options.lockFailure ? options.lockFailure(file, err) : new TsmError("STORE", `Cannot lock ${file}: ${(err as Error).message}`, { cause: err });
  const waitMs = options.waitMs ?? 120_000;
  const noticeMs = options.noticeMs ?? 1_000;
  const what = options.what ?? `another tsm process (lock ${lockName})`;
  const me = selfIdentity();
  const holder: LockHolder = {
    pid: me.pid,
    ...(me.start !== undefined ? { start: me.start } : {}),
    ...(me.boot !== undefined ? { boot: me.boot } : {}),
    host: me.host,
    command: redactCommand(options.command ?? defaultCommand()),
    since: new Date().toISOString(),
    nonce: newNonce(),
  };
  try {
    mkdirSync(locksDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fail(err);
  }
  // A signal of its own: many concurrent waits (regenerate-certs over 12 machines) must not
  // pile one abort listener each onto the command's signal.
  const signal = options.signal ? followingSignal(options.signal) : undefined;
  const started = Date.now();
  let noticed = false;
  for (;;) {
    if (signal?.aborted) throw abortError(signal, `waiting for ${what}`);
    let seen: Seen;
    try {
      seen = tryTake(file, holder);
    } catch (err) {
      throw fail(err);
    }
    if (seen.kind === "taken") break;
    if (seen.kind === "gone") continue;
    if (isStale(seen, me)) {
      let broken: boolean;
      try {
        broken = breakStale(file, seen, me);
      } catch (err) {
        throw fail(err);
      }
      if (broken) continue;
    }
    const waited = Date.now() - started;
    if (waited >= waitMs) throw new TsmError("LOCKED", timeoutMessage(what, waited, file, seen, me));
    if (!noticed && waited >= noticeMs) {
      noticed = true;
      options.onWait?.({ message: `Waiting for ${what}, held by ${describeSeen(seen, me)}...`, holder: seen.kind === "held" ? seen.holder : undefined });
    }
    const pause = waited < 2_000 ? 15 + Math.random() * 50 : 100 + Math.random() * 150;
    // Wake up in time for the notice: it comes after a second, not a poll later.
    await sleep(noticed ? pause : Math.max(1, Math.min(pause, noticeMs - waited)), signal, `waiting for ${what}`);
  }
  try {
    return await fn();
  } finally {
    release(file, holder.nonce);
  }
}

export const storeLockName = "store";
export const machineLockName = (name: string) => `machine-${name}`;

// ---- the lock file -----------------------------------------------------------------

/** What a look at the lock's name found. */
type Seen =
  | { kind: "taken" }
  | { kind: "gone" }
  | { kind: "held"; holder: LockHolder }
  /** Unparseable content: being written (a lock written without link), or left by a crash. */
  | { kind: "unreadable"; ageMs: number; identity: string }
  /** A proper-lockfile directory of an older tsm, refreshed while held. */
  | { kind: "legacy"; ageMs: number; identity: string };

/** Tries to create the lock; else says what holds its name. */
function tryTake(file: string, holder: LockHolder): Seen {
  const text = `${JSON.stringify(holder)}\n`;
  const temp = `${file}.${holder.nonce}.tmp`;
  writeFileSync(temp, text, { mode: 0o600, flag: "wx" });
  try {
    linkSync(temp, file);
    return { kind: "taken" };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EEXIST") {
      if (!LINK_UNSUPPORTED.has(code ?? "")) throw err;
      // A file system without hard links: create the name exclusively and write into it.
      try {
        writeFileSync(file, text, { mode: 0o600, flag: "wx" });
        return { kind: "taken" };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
    }
  } finally {
    rmSync(temp, { force: true });
  }
  return look(file);
}

const LINK_UNSUPPORTED = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EMLINK"]);

/** Reads what holds the lock's name now. */
function look(file: string): Seen {
  let text: string;
  let ageMs: number;
  let identity: string;
  try {
    const st = statSync(file);
    ageMs = Date.now() - st.mtimeMs;
    identity = `${st.ino}-${Math.round(st.mtimeMs)}`;
    if (st.isDirectory()) return { kind: "legacy", ageMs, identity };
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "gone" };
    throw err;
  }
  const holder = parseHolder(text);
  return holder ? { kind: "held", holder } : { kind: "unreadable", ageMs, identity };
}

function parseHolder(text: string): LockHolder | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const h = raw as Record<string, unknown>;
  if (!Number.isInteger(h.pid) || (h.pid as number) <= 0 || typeof h.host !== "string" || typeof h.nonce !== "string" || !/^[a-z0-9]+$/.test(h.nonce)) {
    return undefined;
  }
  return {
    pid: h.pid as number,
    ...(typeof h.start === "string" ? { start: h.start } : {}),
    ...(typeof h.boot === "string" ? { boot: h.boot } : {}),
    host: h.host,
    command: typeof h.command === "string" ? h.command : "another tsm process",
    since: typeof h.since === "string" ? h.since : "",
    nonce: h.nonce,
  };
}

/** How long an unparseable lock may be in the middle of being written. */
const UNREADABLE_GRACE_MS = 2_000;
/** proper-lockfile's default: older tsm versions refreshed their lock directories more often than this. */
const LEGACY_STALE_MS = 10_000;

function isStale(seen: Exclude<Seen, { kind: "taken" | "gone" }>, me: Identity): boolean {
  switch (seen.kind) {
    case "held":
      return holderState(seen.holder, me) === "dead";
    case "unreadable":
      return seen.ageMs > UNREADABLE_GRACE_MS;
    case "legacy":
      return seen.ageMs > LEGACY_STALE_MS;
  }
}

/**
 * Removes a stale lock, unless another process is doing so or the lock changed meanwhile.
 * True when the lock's name may be free now (try again at once), false to wait.
 */
function breakStale(file: string, seen: Exclude<Seen, { kind: "taken" | "gone" }>, me: Identity): boolean {
  const key = seen.kind === "held" ? seen.holder.nonce : `${seen.kind === "legacy" ? "d" : "u"}${seen.identity}`;
  const breaker = `${file}.break-${key}`;
  const mine: LockHolder = { pid: me.pid, ...(me.start !== undefined ? { start: me.start } : {}), ...(me.boot !== undefined ? { boot: me.boot } : {}), host: me.host, command: "", since: new Date().toISOString(), nonce: newNonce() };
  try {
    writeFileSync(breaker, JSON.stringify(mine), { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    // Another process is taking this dead lock over; it takes microseconds, unless it died doing so.
    const other = look(breaker);
    if (other.kind === "gone") return true;
    const dead = other.kind === "held" ? holderState(other.holder, me) === "dead" : other.kind === "unreadable" && other.ageMs > UNREADABLE_GRACE_MS;
    if (dead) rmSync(breaker, { force: true });
    return dead;
  }
  try {
    const now = look(file);
    const same =
      now.kind === "held" ? seen.kind === "held" && now.holder.nonce === seen.holder.nonce : now.kind !== "taken" && now.kind !== "gone" && now.kind === seen.kind && now.identity === seen.identity;
    if (same) rmSync(file, { recursive: seen.kind === "legacy", force: true });
    return true;
  } finally {
    rmSync(breaker, { force: true });
  }
}

/** Removes the lock if it is still ours. */
function release(file: string, nonce: string): void {
  try {
    const seen = look(file);
    if (seen.kind === "held" && seen.holder.nonce === nonce) unlinkSync(file);
  } catch {
    // A lock that cannot be removed is found dead by the next taker.
  }
}

// ---- liveness ------------------------------------------------------------------------

interface Identity {
  readonly pid: number;
  readonly start?: string | undefined;
  readonly boot?: string | undefined;
  readonly host: string;
}

let identity: Identity | undefined;

/** This process as its locks record it. */
function selfIdentity(): Identity {
  identity ??= { pid: process.pid, start: processInfo(process.pid)?.start, boot: bootId(), host: os.hostname() };
  return identity;
}

/** Whether the process a lock names is still the holder: by pid, start time and boot, never by the lock's age. */
export function holderState(holder: LockHolder, me: Pick<Identity, "host" | "boot"> = selfIdentity()): HolderState {
  if (holder.host !== me.host) return "remote";
  if (holder.boot !== undefined && me.boot !== undefined && holder.boot !== me.boot) return "dead";
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: the pid is alive but someone else's (that is no tsm of ours, unless the store is shared).
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return "dead";
  }
  const info = processInfo(holder.pid);
  if (info?.zombie) return "dead";
  if (holder.start !== undefined && info !== undefined && info.start !== holder.start) return "dead";
  return "alive";
}

/** A process's start time and whether it is a zombie, where the platform tells (Linux). */
function processInfo(pid: number): { start: string; zombie: boolean } | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = fields[19];
    return start ? { start, zombie: fields[0] === "Z" } : undefined;
  } catch {
    return undefined;
  }
}

function bootId(): string | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

// ---- messages ------------------------------------------------------------------------

function describeHolder(holder: LockHolder, me: Pick<Identity, "host">): string {
  return `${holder.command} (pid ${holder.pid}${holder.host !== me.host ? ` on host ${holder.host}` : ""})`;
}

function describeSeen(seen: Exclude<Seen, { kind: "taken" | "gone" }>, me: Identity): string {
  switch (seen.kind) {
    case "held":
      return describeHolder(seen.holder, me);
    case "unreadable":
      return "a tsm process that is still writing the lock";
    case "legacy":
      return "an older tsm process";
  }
}

function timeoutMessage(what: string, waitedMs: number, file: string, seen: Exclude<Seen, { kind: "taken" | "gone" }>, me: Identity): string {
  const head = `Timed out after ${Math.round(waitedMs / 1000)} s waiting for ${what}, held by ${describeSeen(seen, me)}`;
  if (seen.kind === "held" && holderState(seen.holder, me) === "remote") {
    return `${head}. tsm never takes over a lock held on another host (a store shared over the network): if that process is gone, remove ${file}`;
  }
  return `${head}, which is still running: let it finish, or stop it and try again`;
}

/** The command line, without credentials a URL or an environment-style value may carry, and not too long for a message. */
export function redactCommand(command: string): string {
  const redacted = command
    .replace(/\s+/g, " ")
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, "$1***@")
    .replace(/(\b[a-z0-9_]*(?:pass|secret|token|key|auth)[a-z0-9_]*=)\S+/gi, "$1***")
    .trim();
  return redacted.length > 160 ? `${redacted.slice(0, 159)}…` : redacted || "a tsm process";
}

function defaultCommand(): string {
  const program = process.argv[1] ? path.basename(process.argv[1]).replace(/\.(c|m)?js$/, "") : path.basename(process.argv0);
  return [program === "tsm-main" ? "tsm" : program, ...process.argv.slice(2)].join(" ");
}

// ---- names ---------------------------------------------------------------------------

let counter = 0;

/** Unique to one taking of a lock: pid, time and a counter (base 36), and some randomness. */
function newNonce(): string {
  counter = (counter + 1) % 36 ** 4;
  return `${process.pid.toString(36)}${Date.now().toString(36)}${counter.toString(36)}${Math.floor(Math.random() * 36 ** 6).toString(36)}`;
}

/** The longest lock name used as it is: the lock file and its companions (.tmp, .break-) then stay under 255 bytes. */
const MAX_PLAIN_NAME_BYTES = 160;

/** `lockName` as a file name: itself when short and plain, else a readable prefix and a hash of the whole. */
async function fileSafeName(lockName: string): Promise<string> {
  if (Buffer.byteLength(lockName) <= MAX_PLAIN_NAME_BYTES && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(lockName)) return lockName;
  const { createHash } = await import("node:crypto");
  const hash = createHash("sha256").update(lockName).digest("hex").slice(0, 32);
  return `${lockName.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 64)}-${hash}`;
}
