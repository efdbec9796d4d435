/**
 * Provisioning over SSH, shared by every driver whose host tsm manages
 * (generic, and the VM drivers): install and configure Docker Engine with the
 * machine's TLS certificates, then wait until the engine answers over mutual
 * TLS with tsm's client certificate. On failure the engine's last log lines
 * come with the error.
 */
import { readFileSync } from "node:fs";
import { followingSignal, sleep, throwIfAborted } from "../model/abort.js";
import type { OpContext } from "../model/driver.js";
import { NotSupportedError, TsmError, toTsmError } from "../model/errors.js";
import type { MachineRecord } from "../model/machine.js";
import { certsMissing, dockerdTlsCommand, type Machine } from "./machine.js";
import { settleEach, type Settled } from "./multi.js";
import { openMachine } from "./open.js";
import { opContext, type Session } from "./session.js";
import { engineDeadlineMs, envSecondsMs } from "../model/timeouts.js";
import { withRemote } from "./remote.js";
import { machineTlsConnection } from "./connection.js";
import { getEngineVersion } from "../docker/engine-api.js";
import type { Remote } from "../provision/remote.js";
import type { ProvisionInput } from "../provision/provisioner.js";

export interface ProvisionOptions {
  /** Saves the record when the host key is pinned; see ConnectOptions.pin. */
  pin?: (record: MachineRecord) => Promise<void>;
  engineDeadlineMs?: number;
}

function machineCerts(machine: Machine): { caPem: string; serverCertPem: string; serverKeyPem: string } {
  const p = machine.paths;
  return { caPem: readFileSync(p.caCert, "utf8"), serverCertPem: readFileSync(p.serverCert, "utf8"), serverKeyPem: readFileSync(p.serverKey, "utf8") };
}

/** What the provisioner needs to know about the machine, from its record and certificate files. */
function provisionInput(machine: Machine, ctx: OpContext): ProvisionInput {
  return {
    machineName: machine.record.name,
    driverName: machine.record.driver.name,
    engine: machine.record.engine,
    certs: machineCerts(machine),
    log: (step) => ctx.log(step),
    signal: ctx.signal,
    waitForFirstBoot: machine.driver.features.firstBoot === true,
  };
}

/** Polls the engine's /version over mutual TLS until it answers or the deadline passes; then shows the engine's log. */
export async function waitForEngine(session: Session, machine: Machine, ctx: OpContext, remote: Remote | undefined, deadlineMs = engineDeadlineMs(session.env)): Promise<string> {
  const connection = await machineTlsConnection(session, machine);
  const started = Date.now();
  let last: unknown;
  while (Date.now() - started < deadlineMs) {
    throwIfAborted(ctx.signal, `waiting for the Docker engine of "${machine.record.name}"`);
    try {
      const v = await getEngineVersion(connection.endpoint, { timeoutMs: 5_000, signal: ctx.signal });
      return v.Version;
    } catch (err) {
      last = err;
      await sleep(1000, ctx.signal, `waiting for the Docker engine of "${machine.record.name}"`);
    }
  }
  let details: string[] = [];
  if (remote) {
    const { engineLogTail } = await import("../provision/provisioner.js");
    const tail = await engineLogTail(remote, 30).catch(() => "");
    if (tail.trim() !== "") details = ["Last lines of the Docker engine's log:", ...tail.trimEnd().split("\n").map((l) => `  ${l}`)];
  }
  throw new TsmError(
    "ENGINE_NOT_READY",
    `The Docker engine of "${machine.record.name}" did not answer over TLS at ${connection.url} within ${Math.round(deadlineMs / 1000)}s: ${(last as Error)?.message ?? "no answer"}`,
    { cause: last, details },
  );
}

/**
 * A failed engine restart says little by itself ("see journalctl"): attach the
 * engine's own last log lines, which name the real cause.
 */
async function withEngineLog(remote: Remote, err: unknown): Promise<unknown> {
  const { ProvisionError } = await import("../provision/errors.js");
  const { engineLogTail, STEPS } = await import("../provision/provisioner.js");
  if (!(err instanceof ProvisionError) || err.step !== STEPS.restart.what) return err;
  const tail = (await engineLogTail(remote, 20).catch(() => "")).trimEnd();
  if (tail === "") return err;
  return new TsmError(err.code, err.message, {
    cause: err,
    details: [...err.details, "Last lines of the Docker engine's log:", ...tail.split("\n").map((l) => `  ${l}`)],
  });
}

/** Full provisioning: OS detection, hostname, engine install, TLS configuration, restart, and the TLS check. */
export async function provisionMachine(session: Session, machine: Machine, ctx: OpContext, options: ProvisionOptions = {}): Promise<string> {
  const { provision } = await import("../provision/provisioner.js");
  return withRemote(
    session,
    machine,
    ctx,
    async (remote) => {
      ctx.log("Provisioning the host over SSH...");
      try {
        await provision(remote, provisionInput(machine, ctx));
      } catch (err) {
        throw await withEngineLog(remote, err);
      }
      ctx.log("Checking the connection to Docker over TLS...");
      const version = await waitForEngine(session, machine, ctx, remote, options.engineDeadlineMs);
      ctx.log(`Docker ${version} is up and running.`);
      return version;
    },
    { pin: options.pin },
  );
}

/** Uploads the machine's current certificates, restarts the engine, and waits for it (regenerate-certs). */
export async function installCertsOnHost(session: Session, machine: Machine, ctx: OpContext): Promise<void> {
  const { installCerts } = await import("../provision/provisioner.js");
  await withRemote(session, machine, ctx, async (remote) => {
    await installCerts(remote, machineCerts(machine), (step) => ctx.log(step));
    await waitForEngine(session, machine, ctx, remote);
  });
}

/** `tsm upgrade`: the engine upgraded by the machine's install method, then the TLS check. */
export async function upgradeMachine(session: Session, machine: Machine, ctx: OpContext): Promise<string> {
  const { upgradeEngine } = await import("../provision/provisioner.js");
  return withRemote(session, machine, ctx, async (remote) => {
    await upgradeEngine(remote, provisionInput(machine, ctx));
    return waitForEngine(session, machine, ctx, remote);
  });
}

/**
 * `tsm provision NAME...`: what create did not get to, and provisioning again. Under each
 * machine's lock, concurrently; harmless to repeat:
 * 1. the machine's certificates, if a create stopped before issuing them (on a host tsm
 *    manages, or with a Swarm mode step pending; else `tsm regenerate-certs` issues them);
 * 2. provisioning, on a host tsm manages;
 * 3. the Swarm mode step create could not do (record.pendingSwarm).
 * A driver whose engine tsm does not manage (none) has only a pending Swarm mode step to
 * do: its engine is waited for (TSM_ENGINE_TIMEOUT, default 10 s: the user starts it,
 * nothing boots); without one it is refused as before.
 */
export function provisionMachines(session: Session, names: readonly string[]): Promise<Settled<string>[]> {
  return settleEach(names, (name) =>
    session.store.withMachineLock(name, async () => {
      const machine = await openMachine(session, name);
      const ctx = opContext(session, name, followingSignal(session.signal));
      const pending = machine.record.pendingSwarm;
      const managed = machine.driver.features.provisionable;
      if (!managed && !pending) throw new NotSupportedError(machine.driver.name, "provision: tsm does not manage that engine");
      if (certsMissing(machine)) {
        ctx.log("Issuing the machine's server certificate...");
        const { ensureAuthority, issueServerCert } = await import("./machine-certs.js");
        await issueServerCert(session, machine, ctx, await ensureAuthority(session, { log: (line) => ctx.log(line) }));
        if (!managed) session.progress.note(`The engine must serve TLS with this machine's certificate: ${dockerdTlsCommand(machine)}`);
        throwIfAborted(ctx.signal, `provisioning "${name}"`);
      }
      let version = "";
      if (managed) {
        version = await provisionMachine(session, machine, ctx, { pin: (r) => session.store.save(r) });
      } else if (pending) {
        ctx.log("Waiting for the Docker engine...");
        version = await waitForEngine(session, machine, ctx, undefined, envSecondsMs(session.env, "TSM_ENGINE_TIMEOUT", 10)).catch((err: unknown) => {
          const cause = toTsmError(err);
          if (cause.code === "INTERRUPTED") throw cause;
          throw new TsmError(cause.code, cause.message, {
            cause: err,
            details: [...cause.details, `Start it with: ${dockerdTlsCommand(machine)}`, `Then run "tsm provision ${name}" again.`],
          });
        });
      }
      if (pending) {
        throwIfAborted(ctx.signal, `provisioning "${name}"`);
        const { finishSwarm } = await import("./swarm.js");
        await finishSwarm(session, machine, pending);
      }
      return version;
    }),
  );
}

/** `tsm upgrade NAME...`: each engine upgraded under the machine's lock, concurrently; `onUpgraded` hears each as it finishes. */
export function upgradeMachines(session: Session, names: readonly string[], onUpgraded: (name: string, version: string) => void): Promise<Settled<void>[]> {
  return settleEach(names, (name) =>
    session.store.withMachineLock(name, async () => {
      const machine = await openMachine(session, name);
      if (!machine.driver.features.provisionable) throw new NotSupportedError(machine.driver.name, "upgrade: tsm does not manage that engine");
      onUpgraded(name, await upgradeMachine(session, machine, opContext(session, name, followingSignal(session.signal))));
    }),
  );
}
