/**
 * The machine store on disk. Reads never write; writes are atomic (temp file,
 * fsync, rename, fsync of the directory: src/store/atomic.ts) and happen under the
 * machine's lock, taken by the caller through `withMachineLock`.
 *
 * A machine directory is never seen half made or half removed, so a reader (`ls`)
 * never mistakes a machine being created or removed for a broken one: a new machine's
 * directory is built under a temporary name and renamed into place with its record
 * inside; a removed one is first renamed away, then deleted. While its create runs a
 * machine holds `creating.json`, naming the creating process: alive, the machine is
 * being created; dead, its create was interrupted (killed before it could end).
 */
// Synchronous fs on purpose: these are small local files, and node:fs/promises
// alone costs milliseconds of start-up that store-only commands cannot spare.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, type Dirent } from "node:fs";
import path from "node:path";
import { CorruptRecordError, DockerMachineRecordError, DockerMachineStoreError, FileIoError, MachineExistsError, MachineNotFoundError, TsmError } from "../model/errors.js";
import { MachineRecordSchema, RECORD_VERSION, type MachineRecord } from "../model/machine.js";
import { isValidMachineName } from "../model/name.js";
import type { DriverRegistry } from "../model/registry.js";
import { cleanTemps, fsyncDir, makeDir, ownPid, processAlive, removeFile, renameEntry, tempName, writeFileAtomic } from "./atomic.js";
import { recoverFileSet } from "./file-set.js";
import { machineLockName, storeLockName, withLock, type LockOptions } from "./lock.js";
import type { StorePaths } from "./paths.js";

export type LoadResult = { ok: true; record: MachineRecord } | { ok: false; error: TsmError };

/** How the store's locks talk to the user (the session provides them; the store imports no core). */
export interface StoreLockOptions {
  /** Told once, after a lock has kept us waiting a second: "Waiting for the lock of machine "x", held by ...". */
  onWait?: (message: string) => void;
  /** This process's command line, recorded in the locks it takes, for other processes' messages. */
  command?: string;
  /** The command's signal: aborting it (Ctrl-C, SIGTERM) ends every lock wait at once with "Interrupted while waiting for <what>". */
  signal?: AbortSignal;
}

/** What `creating.json` says: who creates the machine, and whether that process still runs. */
export interface CreatingState {
  pid: number;
  startedAt: string;
  /** false: the create was interrupted (its process died before the create could end). */
  running: boolean;
}

const RECORD_MODE = 0o600;
const recordText = (record: MachineRecord) => `${JSON.stringify(record, null, 2)}\n`;

export class FileStore {
  constructor(
    readonly paths: StorePaths,
    private readonly drivers: DriverRegistry,
    private readonly locks: StoreLockOptions = {},
  ) {}

  /** Machine names in natural, case-insensitive order. Entries that are not valid machine directories are ignored. */
  async list(): Promise<string[]> {
    let entries: Dirent[];
    try {
      entries = readdirSync(this.paths.machinesDir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new TsmError("STORE", `Cannot read the machine store ${this.paths.machinesDir}`, { cause: err });
    }
    return entries
      .filter((e) => e.isDirectory() && isValidMachineName(e.name))
      .map((e) => e.name)
      .sort(naturalCompare);
  }

  async exists(name: string): Promise<boolean> {
    try {
      return statSync(this.paths.machineDir(name)).isDirectory();
    } catch {
      return false;
    }
  }

  /** Throws MachineNotFoundError (exit 4) or CorruptRecordError (exit 6). */
  async load(name: string): Promise<MachineRecord> {
    const mp = this.paths.machine(name);
    let text: string;
    try {
      text = readFileSync(mp.record, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") {
        if (await this.exists(name)) {
          throw new CorruptRecordError(name, "config.json is missing (an interrupted create?)", { cause: err });
        }
        throw new MachineNotFoundError(name);
      }
      throw new CorruptRecordError(name, `cannot read ${mp.record} (${code ?? "error"})`, { cause: err });
    }
    return this.parse(name, text);
  }

  /** Like load, but returns the error instead of throwing: for `ls`, where one bad record must not hide the others. */
  async tryLoad(name: string): Promise<LoadResult> {
    try {
      return { ok: true, record: await this.load(name) };
    } catch (err) {
      if (err instanceof TsmError) return { ok: false, error: err };
      throw err;
    }
  }

  parse(name: string, text: string): MachineRecord {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new CorruptRecordError(name, text.trim() === "" ? "config.json is empty" : "config.json is not valid JSON (truncated?)", {
        cause: err,
      });
    }
    if (isDockerMachineRecord(raw)) throw new DockerMachineRecordError(name, (raw as { ConfigVersion?: unknown }).ConfigVersion);
    const version = typeof raw === "object" && raw !== null ? (raw as { configVersion?: unknown }).configVersion : undefined;
    if (typeof version === "number" && version > RECORD_VERSION) {
      throw new CorruptRecordError(
        name,
        `it was written by a newer tsm (record version ${version}, this tsm reads up to ${RECORD_VERSION}); upgrade tsm`,
      );
    }
    const parsed = MachineRecordSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
      throw new CorruptRecordError(name, `invalid config.json (${issues.join("; ")})`);
    }
    const record = parsed.data;
    if (record.name !== name) {
      throw new CorruptRecordError(name, `config.json names another machine ("${record.name}")`);
    }
    if (!this.drivers.has(record.driver.name)) {
      throw new CorruptRecordError(name, `unknown driver "${record.driver.name}" (known: ${this.drivers.names().join(", ")})`);
    }
    const problem = this.drivers.get(record.driver.name).checkConfig(record.driver.config);
    if (problem) throw new CorruptRecordError(name, `invalid ${record.driver.name} driver settings (${problem})`);
    return record;
  }

  /** Atomic, durable replace, mode 0600; a machine without a directory gets it whole (see `publish`). The caller holds the machine lock. */
  async save(record: MachineRecord): Promise<void> {
    const mp = this.paths.machine(record.name);
    if (await this.exists(record.name)) writeFileAtomic(mp.record, recordText(record), { mode: RECORD_MODE });
    else this.publish(record.name, [["config.json", recordText(record)]]);
  }

  /**
   * The first record of a machine being created: its directory appears at once with the
   * record and `creating.json` (this process) in it. MachineExistsError if it exists.
   * The caller holds the machine lock; `endCreate` ends the creating state.
   */
  async createRecord(record: MachineRecord): Promise<void> {
    if (await this.exists(record.name)) throw new MachineExistsError(record.name);
    const marker: Omit<CreatingState, "running"> = { pid: ownPid(), startedAt: new Date().toISOString() };
    this.publish(record.name, [
      ["creating.json", `${JSON.stringify(marker)}\n`],
      ["config.json", recordText(record)],
    ]);
  }

  /**
   * The machine's create is over: it finished, or it failed and said so (its record kept,
   * with the hint of how to go on). From now on it is an ordinary machine, whose state
   * its driver tells. Only a create whose process died leaves creating.json behind.
   * The caller holds the machine lock.
   */
  async endCreate(name: string): Promise<void> {
    const mp = this.paths.machine(name);
    removeFile(mp.creating);
    fsyncDir(mp.dir);
  }

  /** Whether the machine's create has not finished (undefined: it has, or the machine does not exist), and whether it still runs. */
  creating(name: string): CreatingState | undefined {
    let text: string;
    try {
      text = readFileSync(this.paths.machine(name).creating, "utf8");
    } catch {
      return undefined;
    }
    try {
      const m = JSON.parse(text) as Partial<CreatingState>;
      const pid = typeof m.pid === "number" ? m.pid : 0;
      return { pid, startedAt: typeof m.startedAt === "string" ? m.startedAt : "", running: processAlive(pid) };
    } catch {
      // Written atomically, so never half written; unreadable means damaged: not running.
      return { pid: 0, startedAt: "", running: false };
    }
  }

  /** Builds the machine directory under a temporary name and renames it into place: readers see all of it or nothing. */
  private publish(name: string, files: ReadonlyArray<readonly [string, string]>): void {
    const machinesDir = this.paths.machinesDir;
    const dir = this.paths.machineDir(name);
    makeDir(machinesDir);
    const staging = path.join(machinesDir, tempName());
    try {
      mkdirSync(staging, { mode: 0o700 });
      for (const [file, text] of files) {
        writeFileAtomic(path.join(staging, file), text, { mode: RECORD_MODE, shownAs: path.join(dir, file), syncDir: false });
      }
      fsyncDir(staging);
      try {
        renameEntry(staging, dir, dir);
      } catch (err) {
        const code = ((err as FileIoError).cause as NodeJS.ErrnoException | undefined)?.code;
        if (code === "ENOTEMPTY" || code === "EEXIST") throw new MachineExistsError(name);
        throw err;
      }
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      throw err instanceof TsmError ? err : new FileIoError("create the directory", dir, err);
    }
    fsyncDir(machinesDir);
  }

  /**
   * Removes the machine directory and everything in it; resolves when it is already gone.
   * The directory is renamed away first, so readers never see it half deleted; a crash
   * while deleting leaves a temporary directory that the next lock holder removes.
   */
  async remove(name: string): Promise<void> {
    const dir = this.paths.machineDir(name);
    const trash = path.join(this.paths.machinesDir, tempName());
    let target = trash;
    try {
      if (!renameEntry(dir, trash, dir)) return;
      fsyncDir(this.paths.machinesDir);
    } catch (err) {
      // A platform that cannot rename a directory in use (Windows): delete it in place.
      const code = ((err as FileIoError).cause as NodeJS.ErrnoException | undefined)?.code;
      if (code !== "EPERM" && code !== "EBUSY" && code !== "EACCES") throw err;
      target = dir;
    }
    try {
      rmSync(target, { recursive: true, force: true });
    } catch (err) {
      if (target === dir) throw new FileIoError("remove", dir, err);
      // Already out of sight; the next lock holder removes what is left of it.
    }
  }

  /**
   * Runs `fn` holding the machine's lock. First the holder cleans up after a holder that
   * crashed: it finishes a certificate set whose journal was complete
   * (src/store/file-set.ts) and removes the temporary files and directories that dead
   * processes left in the machine's directory and beside it (a half-built or half-deleted
   * machine directory).
   */
  withMachineLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.refuseDockerMachineStore();
    return withLock(
      this.paths.locksDir,
      machineLockName(name),
      async () => {
        const dir = this.paths.machineDir(name);
        cleanTemps(dir, MACHINE_FILES);
        recoverFileSet(dir);
        cleanTemps(this.paths.machinesDir);
        return fn();
      },
      this.lockOptions(`the lock of machine "${name}"`),
    );
  }

  /** Runs `fn` holding the store lock (the CA and client certificate), after cleaning up what dead holders left there. */
  withStoreLock<T>(fn: () => Promise<T>): Promise<T> {
    this.refuseDockerMachineStore();
    return withLock(
      this.paths.locksDir,
      storeLockName,
      async () => {
        cleanTemps(this.paths.certsDir, CERTS_FILES);
        cleanTemps(this.paths.machinesDir);
        return fn();
      },
      this.lockOptions("the store lock"),
    );
  }

  private dockerMachineStore: boolean | undefined;

  /**
   * Every write takes a lock first, so this guard, run before any lock file is made, keeps
   * tsm from writing into a Docker Machine store (one holding a record of Docker Machine's
   * format): a tsm record there, or a rotated CA, would break docker-machine for its user.
   */
  private refuseDockerMachineStore(): void {
    this.dockerMachineStore ??= holdsDockerMachineRecords(this.paths.machinesDir);
    if (this.dockerMachineStore) throw new DockerMachineStoreError(this.paths.root);
  }

  private lockOptions(what: string): LockOptions {
    const { onWait, command, signal } = this.locks;
    return { what, ...(onWait ? { onWait: (w) => onWait(w.message) } : {}), ...(command !== undefined ? { command } : {}), ...(signal ? { signal } : {}) };
  }
}

/** Docker Machine's record (libmachine/host: `ConfigVersion`, `DriverName`, `HostOptions`), not tsm's (`configVersion`). */
export function isDockerMachineRecord(raw: unknown): boolean {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return false;
  const r = raw as Record<string, unknown>;
  return !("configVersion" in r) && ("ConfigVersion" in r || ("DriverName" in r && "HostOptions" in r));
}

/** Whether any machine directory under `machinesDir` holds a Docker Machine record. */
export function holdsDockerMachineRecords(machinesDir: string): boolean {
  let names: string[];
  try {
    names = readdirSync(machinesDir);
  } catch {
    return false;
  }
  for (const name of names) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path.join(machinesDir, name, "config.json"), "utf8"));
    } catch {
      continue;
    }
    if (isDockerMachineRecord(raw)) return true;
  }
  return false;
}

/** The files tsm writes, whose temporary copies an older tsm (write-file-atomic: `<name>.<hex>`) may have left after a crash. */
const MACHINE_FILES = ["config.json", "certs.json", "ca.pem", "cert.pem", "key.pem", "server.pem", "server-key.pem"];
const CERTS_FILES = ["ca.pem", "ca-key.pem", "cert.pem", "key.pem"];

/** Natural order on lower-cased names: bar, Baz2, baz10 (Docker Machine's ls order). */
export function naturalCompare(a: string, b: string): number {
  const ax = a.toLowerCase().match(/\d+|\D+/g) ?? [];
  const bx = b.toLowerCase().match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ax.length, bx.length); i++) {
    const x = ax[i]!;
    const y = bx[i]!;
    if (x === y) continue;
    const xn = /^\d/.test(x);
    const yn = /^\d/.test(y);
    if (xn && yn) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  if (ax.length !== bx.length) return ax.length - bx.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
