/**
 * Re-issuing certificates. The machine's server certificate always; with
 * `clientCerts`, first a new CA and client certificate (really new: Docker
 * Machine's flag kept valid ones). Machines not named keep certificates from
 * the old CA; the user is told which, so nothing silently breaks.
 */
import { certOrganization, ensureCaAndClient, serverSans, writeMachineCerts } from "../certs/bootstrap.js";
import type { OpContext } from "../model/driver.js";
import { settleEach, throwFailures } from "./multi.js";
import type { Machine } from "./machine.js";
import { openMachine } from "./open.js";
import { installCertsOnHost } from "./provision.js";
import { opContext, type Session } from "./session.js";

export interface RegenerateOptions {
  clientCerts: boolean;
}

/**
 * The names a machine's server certificate must cover: its address, the address other
 * machines use (VMs behind a port forward), localhost, 127.0.0.1 and its --tls-san values.
 */
export async function machineSans(machine: Machine, ctx: OpContext): Promise<string[]> {
  const address = await machine.driver.getIp(ctx);
  const peer = machine.driver.getPeerIp ? await machine.driver.getPeerIp(ctx) : "";
  return serverSans(address, [peer, ...machine.record.tls.sans]);
}

export async function regenerateCerts(session: Session, names: readonly string[], options: RegenerateOptions): Promise<void> {
  const { store, io } = session;
  const organization = certOrganization(session.env);
  if (options.clientCerts) io.err("Regenerating local certificates\n");
  const bootstrap = await store.withStoreLock(() =>
    ensureCaAndClient(store.paths, {
      organization,
      now: session.now(),
      force: options.clientCerts,
      log: (line) => io.err(`${line}\n`),
    }),
  );
  const results = await settleEach(names, (name) =>
    store.withMachineLock(name, async () => {
      const machine = await openMachine(session, name);
      const ctx = opContext(session, name);
      io.err(`Regenerating TLS certificates for ${name}\n`);
      await writeMachineCerts(store.paths, {
        name,
        organization,
        bootstrap,
        sans: await machineSans(machine, ctx),
        clientAuth: machine.record.swarm !== undefined,
        now: session.now(),
      });
      if (machine.driver.features.provisionable) {
        await installCertsOnHost(session, machine, ctx);
      } else {
        io.err(
          `The engine of "${name}" is not managed by tsm: install ${machine.paths.caCert}, ${machine.paths.serverCert} and ${machine.paths.serverKey} on it and restart it.\n`,
        );
      }
    }),
  );
  if (options.clientCerts) {
    const others = (await store.list()).filter((n) => !names.includes(n));
    if (others.length > 0) {
      io.err(`Warning: the CA changed; these machines still use the old one until you run "tsm regenerate-certs ${others.join(" ")}": ${others.join(", ")}\n`);
    }
  }
  throwFailures(results);
}
