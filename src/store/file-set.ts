/**
 * Files that must change together, as one unit: the CA key and certificate, the client
 * key and certificate, a machine's TLS set (server key and certificate, copies of the CA
 * and client pair). A key whose certificate is from another generation is worse than
 * either generation: after any crash the set on disk must be the old one or the new one.
 *
 * The design is a redo journal, one per directory:
 *   1. the new content of every file of the set is written to `.tsm-pending.json` in the
 *      directory, atomically (temporary file, fsync, rename, fsync of the directory):
 *      from this rename on, the new set exists on disk as a whole;
 *   2. each file is replaced atomically from it;
 *   3. the journal is removed, and the directory fsynced.
 * A crash before step 1 completes leaves the old set (and at most a temporary file,
 * which the next lock holder removes); a crash after it leaves the journal, which the
 * next holder of the directory's lock replays (`recoverFileSet`) before it reads the
 * set: the new set. The journal holds private keys: mode 0600, like the keys, in a
 * 0700 directory. Commands that read without the lock (`env`, `ls`) can meet a set
 * mid-replacement only after a crash; their certificate check then reports the
 * mismatch and names `tsm regenerate-certs`, which takes the lock and replays first.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { FileIoError } from "../model/errors.js";
import { fsyncDir, removeFile, writeFileAtomic } from "./atomic.js";

export const JOURNAL_FILE = ".tsm-pending.json";
const JOURNAL_VERSION = 1;

export interface SetFile {
  /** The file's name in the directory (no path). */
  name: string;
  content: string;
  mode: number;
}

interface Journal {
  version: number;
  files: SetFile[];
}

function checkName(name: string): void {
  if (name === "" || name !== path.basename(name) || name === "." || name === ".." || name === JOURNAL_FILE) {
    throw new Error(`file-set: invalid file name ${JSON.stringify(name)}`);
  }
}

function install(dir: string, files: readonly SetFile[]): void {
  for (const f of files) writeFileAtomic(path.join(dir, f.name), f.content, { mode: f.mode, syncDir: false });
  fsyncDir(dir);
}

/** Replaces the files in `dir` as one unit. The caller holds the lock that guards `dir`. */
export function writeFileSet(dir: string, files: readonly SetFile[]): void {
  for (const f of files) checkName(f.name);
  const journal: Journal = { version: JOURNAL_VERSION, files: files.map((f) => ({ name: f.name, content: f.content, mode: f.mode })) };
  const journalFile = path.join(dir, JOURNAL_FILE);
  writeFileAtomic(journalFile, JSON.stringify(journal), { mode: 0o600 });
  install(dir, files);
  removeFile(journalFile);
  fsyncDir(dir);
}

/**
 * Finishes a set whose writer crashed after its journal was complete; returns the names
 * it installed (none when there was nothing to finish). A journal that cannot be parsed
 * was never completed (it appears only by rename) and is dropped. The caller holds the
 * lock that guards `dir`.
 */
export function recoverFileSet(dir: string): string[] {
  const journalFile = path.join(dir, JOURNAL_FILE);
  let text: string;
  try {
    text = readFileSync(journalFile, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw new FileIoError("read", journalFile, err);
  }
  let files: SetFile[] | undefined;
  try {
    const journal = JSON.parse(text) as Journal;
    if (journal.version === JOURNAL_VERSION && Array.isArray(journal.files)) {
      for (const f of journal.files) {
        checkName(f.name);
        if (typeof f.content !== "string" || typeof f.mode !== "number") throw new Error("file-set: bad entry");
      }
      files = journal.files;
    }
  } catch {
    files = undefined;
  }
  if (files) install(dir, files);
  removeFile(journalFile);
  fsyncDir(dir);
  return files?.map((f) => f.name) ?? [];
}
