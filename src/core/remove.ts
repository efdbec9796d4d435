/**
 * Removing a machine: the driver deletes what it created (VM, disks), then the
 * record goes. Without --force a driver failure keeps the record, so nothing is
 * forgotten while it may still exist; with --force the record goes anyway and
 * the user is told what may be left.
 */
import { CorruptRecordError, MachineNotFoundError, MachineStateError, TsmError, toTsmError } from "../model/errors.js";
import { openRecord } from "./open.js";
import { opContext, type Session } from "./session.js";

export interface RemoveOptions {
  force: boolean;
  /** Also remove what tsm installed on a host it did not create (generic). */
  cleanHost?: boolean;
}

export type RemoveOutcome = "removed" | "absent";

export async function removeMachine(session: Session, name: string, options: RemoveOptions): Promise<RemoveOutcome> {
  const { store } = session;
  return store.withMachineLock(name, async () => {
    const loaded = await store.tryLoad(name);
    if (!loaded.ok) {
      if (loaded.error instanceof MachineNotFoundError) {
        if (!options.force) throw loaded.error;
        return "absent";
      }
      if (loaded.error instanceof CorruptRecordError && options.force) {
        session.io.err(
          `Warning: the record of "${name}" was unreadable, so its driver could not clean up; if it had a VM or disks, remove them with the hypervisor's own tools.\n`,
        );
        await store.remove(name);
        return "removed";
      }
      throw loaded.error;
    }
    try {
      const machine = await openRecord(session, loaded.record);
      if (loaded.record.swarm) {
        const { leaveSwarm } = await import("./swarm.js");
        try {
          await leaveSwarm(session, machine, { force: options.force });
        } catch (err) {
          if (!options.force || err instanceof MachineStateError) throw err;
          session.io.err(`Warning: "${name}" could not leave its Swarm mode cluster (${(err as Error).message}); removing it anyway.\n`);
        }
      }
      await machine.driver.remove(opContext(session, name), { cleanHost: options.cleanHost === true });
    } catch (err) {
      const cause = toTsmError(err);
      if (!options.force) {
        throw new TsmError("REMOVE_FAILED", `Error removing machine "${name}": ${cause.message}`, {
          cause: err,
          exitCode: cause.exitCode,
          details: [`The record is kept. Fix the problem and retry, or drop the record anyway with "tsm rm -f ${name}".`],
        });
      }
      session.io.err(`Warning: ${loaded.record.driver.name} could not remove "${name}" (${cause.message}); removing the record anyway.\n`);
    }
    await store.remove(name);
    return "removed";
  });
}
