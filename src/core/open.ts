/**
 * Loading a machine: its record, its driver, and its paths, in one handle.
 */
import { MachineStateError, MultiMachineError, toTsmError } from "../model/errors.js";
import type { MachineRecord } from "../model/machine.js";
import { machineLeases } from "../store/leases.js";
import { Machine } from "./machine.js";
import type { Session } from "./session.js";

export async function openRecord(session: Session, record: MachineRecord): Promise<Machine> {
  const descriptor = session.drivers.get(record.driver.name);
  const paths = session.store.paths.machine(record.name);
  let machine: Machine | undefined;
  const driver = await descriptor.open(record.driver.config, {
    machineName: record.name,
    machineDir: paths.dir,
    storeRoot: session.store.paths.root,
    cacheDir: session.store.paths.cacheDir,
    leases: machineLeases(session.store.paths, record.name),
    exec: session.exec,
    env: session.env,
    withRemote: async (ctx, fn) => {
      const { withRemote } = await import("./remote.js");
      return withRemote(session, machine!, ctx, fn);
    },
  });
  machine = new Machine(record, driver, paths);
  return machine;
}

/** Throws MachineNotFoundError or CorruptRecordError. */
export async function openMachine(session: Session, name: string): Promise<Machine> {
  return openRecord(session, await session.store.load(name));
}

/**
 * Opens several machines; if any fails to load, nothing runs and every load
 * error is reported (Docker Machine's rule for multi-machine commands).
 */
export async function openMachines(session: Session, names: readonly string[]): Promise<Machine[]> {
  const results = await Promise.allSettled(names.map((n) => openMachine(session, n)));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as unknown);
  if (failures.length > 0) {
    const errs = failures.map((f) => toTsmError(f));
    throw errs.length === 1 ? errs[0] : new MultiMachineError(errs);
  }
  return results.map((r) => (r as PromiseFulfilledResult<Machine>).value);
}

/**
 * The machine `--swarm` (env, config) connects to: a manager of the machine's cluster
 * (itself, or for a worker the machine the cluster was formed around). A machine in no
 * cluster is refused (exit 7), whichever command asks.
 */
export async function openSwarmManager(session: Session, machine: Machine): Promise<Machine> {
  const swarm = machine.record.swarm;
  if (!swarm) throw new MachineStateError(`"${machine.record.name}" is not in a Swarm mode cluster; the --swarm flag is for swarm members`);
  return swarm.role === "worker" ? openMachine(session, swarm.master) : machine;
}
