/**
 * `tsm regenerate-certs`: re-issuing machines' server certificates (and with
 * `clientCerts`, first a new CA and client certificate) and installing them on the hosts
 * tsm manages. Issuing is machine-certs.ts's; installing is provisioning's.
 */
import { ensureAuthority, issueServerCert } from "./machine-certs.js";
import { followingSignal } from "../model/abort.js";
import { settleEach, throwFailures } from "./multi.js";
import { openMachine } from "./open.js";
import { installCertsOnHost } from "./provision.js";
import { opContext, type Session } from "./session.js";

export interface RegenerateOptions {
  clientCerts: boolean;
}

/** `tsm regenerate-certs`: new server certificates for `names`, installed on the hosts tsm manages. */
export async function regenerateCerts(session: Session, names: readonly string[], options: RegenerateOptions): Promise<void> {
  const { store, io } = session;
  if (options.clientCerts) io.err("Regenerating local certificates\n");
  const authority = await ensureAuthority(session, { force: options.clientCerts, log: (line) => io.err(`${line}\n`) });
  const results = await settleEach(names, (name) =>
    store.withMachineLock(name, async () => {
      const machine = await openMachine(session, name);
      const ctx = opContext(session, name, followingSignal(session.signal));
      io.err(`Regenerating TLS certificates for ${name}\n`);
      await issueServerCert(session, machine, ctx, authority);
      if (machine.driver.features.provisionable) {
        await installCertsOnHost(session, machine, ctx);
      } else {
        io.err(
          `The engine of "${name}" is not managed by tsm: install ${machine.paths.caCert}, ${machine.paths.serverCert} and ${machine.paths.serverKey} on it and restart it.\n`,
        );
        // For an engine tsm does not manage, the certificates are the last step of create: an interrupted create is finished now.
        if (store.creating(name)) await store.endCreate(name);
      }
      await (await import("./context-sync.js")).syncMachineContext(session, machine);
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
