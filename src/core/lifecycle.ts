/**
 * A machine's lifecycle: create, start, stop, kill, restart, rm, and what follows
 * a start. The CLI verbs parse, call these, and print.
 *
 * create (Docker Machine's libmachine Create, with its failure modes made explicit):
 *
 *   lock name -> refuse duplicates -> CA and client certificate (store lock)
 *   -> driver pre-create check -> the Swarm mode cluster to join answers
 *   -> save record -> driver create -> server certificate for the machine's address
 *   -> (provision, for drivers that need it) -> (form or join the cluster)
 *
 * Before the record is saved nothing is left behind on failure (exit 3 for a failed
 * check). After it, the record stays (the host may exist) and the error tells the
 * user how to retry or remove it.
 */
import { existsSync } from "node:fs";
import type { Driver, MachineState, OpContext } from "../model/driver.js";
import type { OptionInput } from "../model/options.js";
import {
  CorruptRecordError,
  InterruptedError,
  isTsmError,
  MachineExistsError,
  MachineNotFoundError,
  MachineStateError,
  NotSupportedError,
  PreCreateCheckError,
  TsmError,
  toTsmError,
} from "../model/errors.js";
import { RECORD_VERSION, type EngineOptions, type MachineRecord } from "../model/machine.js";
import { dockerdTlsCommand, type Machine } from "./machine.js";
import type { BootstrapResult } from "../certs/bootstrap.js";
import { ensureAuthority, issueServerCert, serverCertCoversMachine } from "./machine-certs.js";
import { regenerateCerts } from "./regenerate-certs.js";
import { settleEach, throwFailures, type Settled } from "./multi.js";
import { openMachines, openRecord } from "./open.js";
import { provisionMachine, waitForEngine } from "./provision.js";
import { opContext, type Session } from "./session.js";
import type { SwarmRequest } from "./swarm.js";

// ---------------------------------------------------------------- create

export interface CreateRequest {
  name: string;
  driverName: string;
  /** The driver's options as given (command line and environment), read by its descriptor. */
  driverOptions: OptionInput;
  engine: Omit<EngineOptions, "port">;
  tlsSans: string[];
  /** Form or join a Swarm mode cluster once the engine is up. */
  swarm?: SwarmRequest | undefined;
}

export async function createMachine(session: Session, req: CreateRequest): Promise<MachineRecord> {
  const { store } = session;
  const descriptor = session.drivers.get(req.driverName);
  const settings = descriptor.settingsFromFlags(req.driverOptions);
  const log = (line: string) => session.progress.step(line);
  const started = Date.now();
  const { name } = req;

  // What an interrupt leaves, said on the way out (and by main.ts if it must force the exit).
  const nothingCreated = () => `nothing was created for "${name}"`;
  /** "Interrupted while waiting for the store lock: nothing was created ..." when the interrupt ended a wait that says what it waited for. */
  const interruptedNothingCreated = (err: unknown) =>
    `${err instanceof InterruptedError && err.message.startsWith("Interrupted while ") ? err.message : "Interrupted"}: ${nothingCreated()}`;
  let opened: Machine | undefined;
  const recordKept = () => `the record of "${name}" is kept; complete it with "${completeCommand(opened, name)}" or remove it with "tsm rm -f ${name}"`;
  const note = session.interruptNote;
  note.set(() => (existsSync(store.paths.machine(name).record) ? recordKept() : nothingCreated()));
  /** Between steps: an interrupt (or a deadline given as the signal's reason) stops the create here. */
  // Yields to the event loop first: a signal that arrived while the previous step ran only
  // synchronous work (file writes) has its handler run, and so aborts, only then.
  const checkpoint = async (next: string): Promise<void> => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!session.signal.aborted) return;
    const reason: unknown = session.signal.reason;
    throw reason instanceof TsmError ? reason : new InterruptedError(`Interrupted before ${next}`);
  };

  try {
    return await store.withMachineLock(name, async () => {
      if (await store.exists(name)) throw new MachineExistsError(name);
      let authority: BootstrapResult;
      let machine: Machine;
      let record: MachineRecord;
      const ctx = opContext(session, name);
      try {
        await checkpoint("creating anything");
        log(`Creating "${name}" with the ${descriptor.name} driver`);
        authority = await ensureAuthority(session, { log });
        await checkpoint("the pre-create checks");

        record = {
          configVersion: RECORD_VERSION,
          name,
          createdAt: session.now().toISOString(),
          driver: { name: descriptor.name, config: settings.config },
          engine: { ...req.engine, port: settings.enginePort },
          tls: { sans: req.tlsSans },
          // Until the cluster is formed or joined; `tsm provision` finishes it if create cannot.
          ...(req.swarm ? { pendingSwarm: req.swarm } : {}),
        };
        machine = await openRecord(session, record);
        opened = machine;

        log("Running pre-create checks...");
        try {
          await machine.driver.preCreateCheck(ctx);
        } catch (err) {
          if (isTsmError(err) && err.code !== "INTERNAL") throw err;
          throw new PreCreateCheckError((err as Error).message, { cause: err });
        }
        if (req.swarm) {
          const { checkJoinTarget } = await import("./swarm.js");
          await checkJoinTarget(session, req.swarm);
        }
        await checkpoint("creating the machine");
      } catch (err) {
        // Nothing of the machine exists yet; whatever failed, an interrupt is the truth.
        if (session.signal.aborted && !(session.signal.reason instanceof TsmError)) {
          throw new InterruptedError(interruptedNothingCreated(err), { cause: err });
        }
        throw err;
      }

      log("Creating machine...");
      let driverStarted = false;
      try {
        // The machine appears whole, marked as being created until the end (ls shows "Creating").
        await store.createRecord({ ...record, driver: { name: descriptor.name, config: machine.driver.config() } });
        driverStarted = true;
        await checkpoint("creating the host");
        await machine.driver.create(ctx);
        // A guest whose host key the driver chose (a VM's seed) is pinned before first contact.
        const hostKey = machine.driver.expectedHostKey?.();
        const created: MachineRecord = { ...record, driver: { name: descriptor.name, config: machine.driver.config() }, ...(hostKey ? { ssh: { hostKey } } : {}) };
        await store.save(created);
        machine.replaceRecord(created);
        await checkpoint("issuing the server certificate");
        log("Issuing the machine's server certificate...");
        // The swarm is not in the record until the cluster is formed, but the certificate is issued for a member now.
        await issueServerCert(session, machine, ctx, authority, { swarmMember: req.swarm !== undefined });
        if (machine.driver.features.provisionable) {
          await checkpoint("provisioning the host");
          // We hold the machine lock: a first-contact host key is saved directly.
          await provisionMachine(session, machine, ctx, { pin: (r) => store.save(r) });
        }
        if (req.swarm) {
          await checkpoint("the Swarm mode step");
          const { finishSwarm } = await import("./swarm.js");
          await finishSwarm(session, machine, req.swarm);
        }
      } catch (err) {
        const interrupted = session.signal.aborted && !(session.signal.reason instanceof TsmError);
        if (!driverStarted) {
          await store.remove(name).catch(() => undefined);
          if (interrupted) throw new InterruptedError(interruptedNothingCreated(err), { cause: err });
          throw toTsmError(err, `Error creating machine "${name}"`);
        }
        // Keep what the driver got to (ports, disks), so `provision`, `start` and `rm` find it.
        await store
          .save({ ...machine.record, driver: { name: descriptor.name, config: machine.driver.config() } })
          .catch(() => undefined);
        const cause = toTsmError(err);
        if (interrupted) {
          // Stopped early: exit 130 (143 for SIGTERM), whatever error the interrupt caused.
          throw new InterruptedError(`Error creating machine "${name}": ${cause.message}`, { cause: err, details: [`Interrupted: ${recordKept()}.`] });
        }
        // An interrupted create stays marked (ls then says it did not finish and how to finish it);
        // one that failed is over and says so here: from now on the driver tells the machine's state.
        await store.endCreate(name).catch(() => undefined);
        throw new TsmError("CREATE_FAILED", `Error creating machine "${name}": ${cause.message}`, {
          cause: err,
          exitCode: cause.exitCode,
          details: [
            ...cause.details,
            `The record of "${name}" is kept in ${store.paths.machineDir(name)}; the host may exist.`,
            ...remainingStepsHint(machine, `Retry the remaining steps with "tsm provision ${name}"`),
          ],
        });
      }
      await store.endCreate(name);
      await (await import("./context-sync.js")).syncMachineContext(session, machine, { announce: true });
      // Every step is done: an interrupt from here on changes nothing (main.ts exits 0 and says so).
      note.set(undefined);
      if (!machine.driver.features.provisionable) session.progress.note(engineServeLine(machine));
      session.progress.finish(true);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      session.progress.note(`Machine "${name}" created in ${seconds}s.`);
      session.progress.note(`To point your Docker client at it, run: tsm env ${name}`);
      return record;
    });
  } catch (err) {
    // An interrupt that ended the wait for the machine's own lock: nothing of ours exists.
    if (err instanceof InterruptedError && err.message.startsWith("Interrupted while ") && !err.message.endsWith(nothingCreated()) && !existsSync(store.paths.machine(name).record)) {
      throw new InterruptedError(interruptedNothingCreated(err), { cause: err });
    }
    throw err;
  } finally {
    note.set(undefined);
  }
}

/**
 * The command that finishes a create stopped after its record was saved: `tsm provision`
 * for a host tsm manages (it issues missing certificates first) or a pending Swarm mode
 * step; for an engine tsm does not manage, what is left is its certificates.
 */
function completeCommand(machine: Machine | undefined, name: string): string {
  return machine && !machine.driver.features.provisionable && !machine.record.pendingSwarm ? `tsm regenerate-certs ${name}` : `tsm provision ${name}`;
}

/** For drivers whose engine tsm does not manage: how to start it with the machine's certificates. */
function engineServeLine(machine: Machine): string {
  return `The engine must serve TLS with this machine's certificate: ${dockerdTlsCommand(machine)}`;
}

/**
 * The way out of a create that stopped after its record was saved. `tsm provision` does
 * the remaining steps; for an engine tsm does not manage (none) that is the Swarm mode
 * step only, once the user has started the engine with the machine's certificates.
 */
function remainingStepsHint(machine: Machine, retry: string): string[] {
  const { name } = machine.record;
  const remove = `remove it with "tsm rm -f ${name}"`;
  if (machine.driver.features.provisionable || !machine.record.pendingSwarm) return [`${retry} or ${remove}.`];
  const certs = existsSync(machine.paths.serverCert) ? [] : [`Issue its certificates with "tsm regenerate-certs ${name}".`];
  return [...certs, engineServeLine(machine), `Once it answers, do the Swarm mode step with "tsm provision ${name}", or ${remove}.`];
}

// ---------------------------------------------------------------- start, stop, kill, restart

export type PowerVerb = "start" | "stop" | "kill" | "restart";

interface PowerRule {
  /** State in which the verb has nothing to do, and the message for it. */
  already?: { state: MachineState; message: (name: string) => string };
  run(driver: Driver, ctx: OpContext): Promise<void>;
  /** Followed by afterStart (drivers with power control). */
  starts: boolean;
}

const POWER: Readonly<Record<PowerVerb, PowerRule>> = {
  start: { already: { state: "Running", message: (n) => `Machine "${n}" is already running.` }, run: (d, c) => d.start(c), starts: true },
  stop: { already: { state: "Stopped", message: (n) => `Machine "${n}" is already stopped.` }, run: (d, c) => d.stop(c), starts: false },
  kill: { run: (d, c) => d.kill(c), starts: false },
  // Allowed without power control: the generic driver reboots its server over SSH.
  restart: { run: (d, c) => d.restart(c), starts: true },
};

/**
 * One verb on one machine. A driver without power control refuses start, stop and
 * kill with NotSupportedError (exit 7) before it is called; a machine already in the
 * verb's state gets MachineStateError (exit 7) and the driver does nothing.
 */
export async function powerMachine(session: Session, machine: Machine, verb: PowerVerb): Promise<void> {
  const rule = POWER[verb];
  const { driver } = machine;
  const ctx = opContext(session, machine.record.name);
  if (!driver.features.powerControl && verb !== "restart") throw new NotSupportedError(driver.name, verb);
  if (rule.already && (await driver.getState(ctx)) === rule.already.state) {
    throw new MachineStateError(rule.already.message(machine.record.name));
  }
  await rule.run(driver, ctx);
  if (driver.features.powerControl && rule.starts) await afterStart(session, machine, ctx);
}

/** The verb on several machines concurrently: nothing runs if one cannot be loaded; one's failure neither stops nor hides the others. */
export async function powerMachines(session: Session, verb: PowerVerb, names: readonly string[]): Promise<Settled<void>[]> {
  const machines = await openMachines(session, names);
  return settleEach(machines, (m) => powerMachine(session, m, verb));
}

/**
 * What follows a VM's `start` or `restart`, so that `eval "$(tsm env NAME)"` keeps
 * working whatever the hypervisor did:
 * 1. the driver's settings (an address it discovered, the accelerator it used) are saved;
 * 2. if the machine's address is no longer named by its server certificate (a new DHCP
 *    lease: Docker Machine's most reported bug), the certificate is re-issued and
 *    installed on the host;
 * 3. the engine is awaited over mutual TLS, so `tsm start x && docker ps` works.
 */
export async function afterStart(session: Session, machine: Machine, ctx: OpContext): Promise<void> {
  const name = machine.record.name;
  const config = machine.driver.config();
  if (JSON.stringify(config) !== JSON.stringify(machine.record.driver.config)) {
    await session.store.withMachineLock(name, async () => {
      const current = await session.store.load(name);
      const saved: MachineRecord = { ...current, driver: { ...current.driver, config } };
      await session.store.save(saved);
      machine.replaceRecord(saved);
      await (await import("./context-sync.js")).syncMachineContext(session, machine);
    });
  }
  if (!machine.driver.features.provisionable) return;

  if (!(await serverCertCoversMachine(machine, ctx))) {
    ctx.log("The machine's address changed: re-issuing its server certificate...");
    await regenerateCerts(session, [name], { clientCerts: false });
    return; // regenerate-certs waits for the engine
  }
  ctx.log("Waiting for the Docker engine...");
  await waitForEngine(session, machine, ctx, undefined);
}

// ---------------------------------------------------------------- rm

export interface RemoveOptions {
  force: boolean;
  /** Also remove what tsm installed on a host it did not create (generic). */
  cleanHost?: boolean;
}

export type RemoveOutcome = "removed" | "absent";

/**
 * The driver deletes what it created (VM, disks), then the record goes. Without
 * `force` a driver failure keeps the record, so nothing is forgotten while it may
 * still exist; with `force` the record goes anyway and the user is told what may be left.
 */
export async function removeMachine(session: Session, name: string, options: RemoveOptions): Promise<RemoveOutcome> {
  const { store } = session;
  const dropContext = async () => (await import("./context-sync.js")).removeMachineContext(session, name);
  return store.withMachineLock(name, async () => {
    const loaded = await store.tryLoad(name);
    if (!loaded.ok) {
      if (loaded.error instanceof MachineNotFoundError) {
        if (!options.force) throw loaded.error;
        await dropContext();
        return "absent";
      }
      if (loaded.error instanceof CorruptRecordError && options.force) {
        session.io.err(
          `Warning: the record of "${name}" was unreadable, so its driver could not clean up; if it had a VM or disks, remove them with the hypervisor's own tools.\n`,
        );
        await store.remove(name);
        await dropContext();
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
    await dropContext();
    return "removed";
  });
}

/** Removes the machines one after another, reporting each outcome as it happens; then throws the failures. */
export async function removeMachines(
  session: Session,
  names: readonly string[],
  options: RemoveOptions,
  onOutcome: (name: string, outcome: RemoveOutcome) => void,
): Promise<void> {
  const results: Settled<void>[] = [];
  for (const name of names) {
    if (session.signal.aborted) {
      // Interrupted: the machines not reached yet stay, and say so.
      results.push({ ok: false, error: new InterruptedError(`Interrupted before removing "${name}": it is kept`) });
      continue;
    }
    try {
      onOutcome(name, await removeMachine(session, name, options));
      results.push({ ok: true, value: undefined });
    } catch (err) {
      results.push({ ok: false, error: toTsmError(err) });
    }
  }
  throwFailures(results);
}
