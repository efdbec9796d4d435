/**
 * The create pipeline (Docker Machine's libmachine Create, with its failure
 * modes made explicit):
 *
 *   lock name -> refuse duplicates -> CA and client certificate (store lock)
 *   -> driver pre-create check -> save record -> driver create
 *   -> server certificate for the machine's address -> (provision, for drivers that need it)
 *
 * Before the record is saved nothing is left behind on failure. After it, the
 * record stays (the host may exist) and the error tells the user how to retry
 * or remove it.
 */
import { certOrganization, ensureCaAndClient, writeMachineCerts } from "../certs/bootstrap.js";
import type { FlagValues } from "../model/driver.js";
import { isTsmError, MachineExistsError, PreCreateCheckError, TsmError, toTsmError } from "../model/errors.js";
import { RECORD_VERSION, type EngineOptions, type MachineRecord } from "../model/machine.js";
import { openRecord } from "./open.js";
import { opContext, type Session } from "./session.js";
import type { SwarmRequest } from "./swarm.js";

export interface CreateRequest {
  name: string;
  driverName: string;
  driverFlags: FlagValues;
  engine: Omit<EngineOptions, "port">;
  tlsSans: string[];
  /** Form or join a Swarm mode cluster once the engine is up. */
  swarm?: SwarmRequest;
}

export async function createMachine(session: Session, req: CreateRequest): Promise<MachineRecord> {
  const { store } = session;
  const descriptor = session.drivers.get(req.driverName);
  const settings = descriptor.settingsFromFlags(req.driverFlags);
  const log = (line: string) => session.progress.step(line);
  const started = Date.now();

  return store.withMachineLock(req.name, async () => {
    if (await store.exists(req.name)) throw new MachineExistsError(req.name);
    log(`Creating "${req.name}" with the ${descriptor.name} driver`);

    const organization = certOrganization(session.env);
    const bootstrap = await store.withStoreLock(() => ensureCaAndClient(store.paths, { organization, now: session.now(), log }));

    const record: MachineRecord = {
      configVersion: RECORD_VERSION,
      name: req.name,
      createdAt: session.now().toISOString(),
      driver: { name: descriptor.name, config: settings.config },
      engine: { ...req.engine, port: settings.enginePort },
      tls: { sans: req.tlsSans },
    };
    const machine = await openRecord(session, record);
    const ctx = opContext(session, req.name);

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

    log("Creating machine...");
    let driverStarted = false;
    try {
      await store.save({ ...record, driver: { name: descriptor.name, config: machine.driver.config() } });
      driverStarted = true;
      await machine.driver.create(ctx);
      // A guest whose host key the driver chose (a VM's seed) is pinned before first contact.
      const hostKey = machine.driver.expectedHostKey?.();
      const created: MachineRecord = { ...record, driver: { name: descriptor.name, config: machine.driver.config() }, ...(hostKey ? { ssh: { hostKey } } : {}) };
      await store.save(created);
      machine.replaceRecord(created);
      log("Issuing the machine's server certificate...");
      const { machineSans } = await import("./regenerate-certs.js");
      await writeMachineCerts(store.paths, {
        name: req.name,
        organization,
        bootstrap,
        sans: await machineSans(machine, ctx),
        now: session.now(),
      });
      if (machine.driver.features.provisionable) {
        const { provisionMachine } = await import("./provision.js");
        // We hold the machine lock: a first-contact host key is saved directly.
        await provisionMachine(session, machine, ctx, { pin: (r) => store.save(r) });
      }
      if (req.swarm) {
        const { applySwarm } = await import("./swarm.js");
        const swarm = await applySwarm(session, machine, req.swarm);
        const saved = { ...machine.record, swarm };
        await store.save(saved);
        machine.replaceRecord(saved);
      }
    } catch (err) {
      if (!driverStarted) {
        await store.remove(req.name).catch(() => undefined);
        throw toTsmError(err, `Error creating machine "${req.name}"`);
      }
      // Keep what the driver got to (ports, disks), so `provision`, `start` and `rm` find it.
      await store
        .save({ ...machine.record, driver: { name: descriptor.name, config: machine.driver.config() } })
        .catch(() => undefined);
      const cause = toTsmError(err);
      throw new TsmError("CREATE_FAILED", `Error creating machine "${req.name}": ${cause.message}`, {
        cause: err,
        exitCode: cause.exitCode,
        details: [
          ...cause.details,
          `The record of "${req.name}" is kept in ${store.paths.machineDir(req.name)}; the host may exist.`,
          `Retry the remaining steps with "tsm provision ${req.name}" or remove it with "tsm rm -f ${req.name}".`,
        ],
      });
    }
    if (!machine.driver.features.provisionable) {
      const mp = store.paths.machine(req.name);
      session.progress.note(
        `The engine must serve TLS with this machine's certificate: dockerd --tlsverify --tlscacert=${mp.caCert} --tlscert=${mp.serverCert} --tlskey=${mp.serverKey} -H tcp://0.0.0.0:${settings.enginePort}`,
      );
    }
    session.progress.finish(true);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    session.progress.note(`Machine "${req.name}" created in ${seconds}s.`);
    session.progress.note(`To point your Docker client at it, run: tsm env ${req.name}`);
    return record;
  });
}
