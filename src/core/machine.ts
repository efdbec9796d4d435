/**
 * A loaded machine: its record, its driver and its paths in one handle (built by
 * open.ts). The record is never written through: whoever saves a new record hands
 * it to `replaceRecord`, so the handle always shows what is on disk.
 */
import { existsSync } from "node:fs";
import type { Driver } from "../model/driver.js";
import type { MachineRecord } from "../model/machine.js";
import type { MachinePaths } from "../store/paths.js";

export class Machine {
  #record: MachineRecord;

  constructor(
    record: MachineRecord,
    readonly driver: Driver,
    readonly paths: MachinePaths,
  ) {
    this.#record = record;
  }

  get record(): MachineRecord {
    return this.#record;
  }

  /** Call after saving `record` (same machine): later readers of the handle see it. */
  replaceRecord(record: MachineRecord): void {
    if (record.name !== this.#record.name) throw new Error(`replaceRecord: "${record.name}" is not "${this.#record.name}"`);
    this.#record = record;
  }
}

/** For an engine tsm does not manage (none): the dockerd command line that serves TLS with the machine's certificates. */
export function dockerdTlsCommand(machine: Machine): string {
  const p = machine.paths;
  return `dockerd --tlsverify --tlscacert=${p.caCert} --tlscert=${p.serverCert} --tlskey=${p.serverKey} -H tcp://0.0.0.0:${machine.record.engine.port}`;
}

/** Is any of the machine's certificate files missing (a create stopped before its certificate step)? */
export function certsMissing(machine: Machine): boolean {
  const p = machine.paths;
  return [p.caCert, p.clientCert, p.clientKey, p.serverCert, p.serverKey].some((f) => !existsSync(f));
}
