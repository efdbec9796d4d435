/**
 * Crash-safe writes of the store's files (records, certificates, keys), and the cleaning
 * of what a crashed writer leaves behind.
 *
 * A file is replaced atomically: its new content goes to a temporary file beside it,
 * which is fsynced, renamed over the target, and then the directory is fsynced (where
 * the platform can open a directory), so after a crash the file is the old one or the
 * new one and the rename itself survives a power cut.
 *
 * Temporary names are recognisable and carry the writer's process id:
 * `.tsm-tmp-<pid>-<random>[.<what>]`. A crash can leave one behind (with a private key in
 * it); every reader ignores them (no machine name starts with a dot, and readers only
 * open fixed names), and `cleanTemps` removes those whose writer is dead, which the store
 * runs whenever a lock is taken. write-file-atomic is not used here for that reason: its
 * temporary names (`key.pem.1a2b3c4d`) cannot be told apart from the user's files after a
 * SIGKILL, and it installs exit handlers for signals that the CLI handles itself.
 *
 * Every failure is a FileIoError naming the file (for ENOSPC: the disk is full).
 *
 * Synchronous fs on purpose, like the rest of the store: small local files, and
 * node:fs/promises costs start-up time that store-only commands cannot spare.
 */
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import { FileIoError } from "../model/errors.js";

export const TEMP_PREFIX = ".tsm-tmp-";
const TEMP_PATTERN = /^\.tsm-tmp-(\d+)-/;

let counter = 0;

/** A fresh temporary name for this process (no crypto: store-only commands must not load it). */
export function tempName(what?: string): string {
  const random = `${Date.now().toString(36)}${(counter++).toString(36)}${Math.floor(Math.random() * 0xffffffff).toString(36)}`;
  return `${TEMP_PREFIX}${process.pid}-${random}${what ? `.${what}` : ""}`;
}

/** Is the process alive? (EPERM: it is, but belongs to someone else.) */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function ownPid(): number {
  return process.pid;
}

/** Makes a directory (and its parents), mode 0700. */
export function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new FileIoError("create the directory", dir, err);
  }
}

/**
 * Makes the entries of `dir` (a rename, a new or removed file) durable. Windows cannot open
 * a directory for this and some file systems refuse: there the rename is as durable as the
 * platform makes it.
 */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOSPC" || code === "EIO") throw new FileIoError("write", dir, err);
    // EISDIR, EPERM, EINVAL, EBADF...: the platform does not sync directories this way.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface AtomicWriteOptions {
  /** File mode: 0600 for keys and records, 0644 for certificates. */
  mode: number;
  /** The path error messages name (the final one, when `file` is in a staging directory). */
  shownAs?: string;
  /** fsync the directory after the rename (default true; a caller that renames the whole directory next does it once). */
  syncDir?: boolean;
}

/** Replaces `file` with `data` atomically and durably. Throws FileIoError naming the file. */
export function writeFileAtomic(file: string, data: string, options: AtomicWriteOptions): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, tempName(path.basename(file)));
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", options.mode);
    // The mode given to open is masked by the umask; the store's modes are not.
    try {
      fchmodSync(fd, options.mode);
    } catch {
      // Windows: modes are not POSIX there.
    }
    const buffer = Buffer.from(data, "utf8");
    for (let offset = 0; offset < buffer.length; ) offset += writeSync(fd, buffer, offset, buffer.length - offset);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw new FileIoError("write", options.shownAs ?? file, err);
  }
  if (options.syncDir !== false) fsyncDir(dir);
}

/** Removes a file; a file already gone is fine. */
export function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new FileIoError("remove", file, err);
  }
}

/** Renames `from` to `to` (both in the store); false when `from` does not exist. */
export function renameEntry(from: string, to: string, shownAs = from): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw new FileIoError("move", shownAs, err);
  }
}

/**
 * Removes from `dir` the temporary files and directories whose writer is dead, and the
 * temporary files an older tsm (write-file-atomic, `<name>.<hex>`) left for the names in
 * `legacyNames`; the caller then holds the lock under which those names are written.
 * A temporary entry of a live process is its write in progress and is left alone.
 */
export function cleanTemps(dir: string, legacyNames: readonly string[] = []): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    const m = TEMP_PATTERN.exec(entry);
    const stale = m ? Number(m[1]) !== ownPid() && !processAlive(Number(m[1])) : isLegacyTemp(entry, legacyNames);
    if (!stale) continue;
    try {
      rmSync(path.join(dir, entry), { recursive: true, force: true });
      removed.push(entry);
    } catch {
      // Left for the next lock holder; readers ignore it.
    }
  }
  return removed;
}

function isLegacyTemp(entry: string, names: readonly string[]): boolean {
  const dot = entry.lastIndexOf(".");
  return dot > 0 && names.includes(entry.slice(0, dot)) && /^[0-9a-f]{1,16}$/.test(entry.slice(dot + 1));
}
