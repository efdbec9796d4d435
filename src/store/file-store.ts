/**
 * The machine store on disk. Reads never write; writes are atomic (temp file,
 * fsync, rename) and happen under the machine's lock, taken by the caller
 * through `withMachineLock`.
 */
// Synchronous fs on purpose: these are small local files, and node:fs/promises
// alone costs milliseconds of start-up that store-only commands cannot spare.
import { readdirSync, readFileSync, rmSync, statSync, type Dirent } from "node:fs";
import { CorruptRecordError, FileIoError, MachineNotFoundError, TsmError } from "../model/errors.js";
import { MachineRecordSchema, RECORD_VERSION, type MachineRecord } from "../model/machine.js";
import { isValidMachineName } from "../model/name.js";
import type { DriverRegistry } from "../model/registry.js";
import { makeDir, writeFileAtomic } from "./atomic.js";
import { recoverFileSet } from "./file-set.js";
import { machineLockName, storeLockName, withLock } from "./lock.js";
import type { StorePaths } from "./paths.js";

export type LoadResult = { ok: true; record: MachineRecord } | { ok: false; error: TsmError };

export class FileStore {
  constructor(
    readonly paths: StorePaths,
    private readonly drivers: DriverRegistry,
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

  /** Atomic, durable replace (src/store/atomic.ts), mode 0600. The caller holds the machine lock. */
  async save(record: MachineRecord): Promise<void> {
    const mp = this.paths.machine(record.name);
    makeDir(mp.dir);
    writeFileAtomic(mp.record, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  }

  /** Removes the machine directory and everything in it. Resolves when it is already gone. */
  async remove(name: string): Promise<void> {
    const dir = this.paths.machineDir(name);
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      throw new FileIoError("remove", dir, err);
    }
  }

  /**
   * Runs `fn` holding the machine's lock. First the holder finishes what a crashed holder
   * left: a certificate set whose journal was complete (src/store/file-set.ts).
   */
  withMachineLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return withLock(this.paths.locksDir, machineLockName(name), async () => {
      recoverFileSet(this.paths.machineDir(name));
      return fn();
    });
  }

  withStoreLock<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(this.paths.locksDir, storeLockName, fn);
  }
}

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
