/**
 * A machine's certificates. The store-wide CA and client certificate are made on
 * first need (under the store lock, so concurrent creates agree on one CA); each
 * machine's server certificate names its addresses. create, regenerate-certs and
 * the check after start all issue through `issueServerCert`, so every server
 * certificate follows one rule: its names (machineSans) and, for Swarm mode
 * members, clientAuth (nodes present it to each other).
 *
 * regenerate-certs re-issues the server certificate always; with `clientCerts`,
 * first a new CA and client certificate (really new: Docker Machine's flag kept
 * valid ones). Machines not named keep certificates from the old CA; the user is
 * told which, so nothing silently breaks.
 */
import { readFileSync } from "node:fs";
import { certOrganization, ensureCaAndClient, serverSans, writeMachineCerts, type BootstrapResult } from "../certs/bootstrap.js";
import type { OpContext } from "../model/driver.js";
import type { Machine } from "./machine.js";
import type { Session } from "./session.js";

/**
 * The CA and client certificate, created or replaced (`force`) when needed. Takes the store lock.
 * With a CA or client pair of the user's own (session.tls: --tls-ca-cert...), those are used
 * instead (src/certs/byo.ts): the CA key is read in place, never copied.
 */
export async function ensureAuthority(session: Session, options: { force?: boolean; log: (line: string) => void }): Promise<BootstrapResult> {
  const { store } = session;
  const storeAuthority = () =>
    store.withStoreLock(() =>
      ensureCaAndClient(store.paths, { organization: certOrganization(session.env), now: session.now(), force: options.force, log: options.log }),
    );
  if (session.tls === undefined) return storeAuthority();
  const { byoAuthority } = await import("../certs/byo.js");
  return byoAuthority(session.tls, { organization: certOrganization(session.env), now: session.now(), log: options.log, storeAuthority });
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

export interface ServerCertOptions {
  /**
   * The machine is (or is about to become, during create) a Swarm mode member: its
   * certificate then also allows clientAuth. Default: whether its record has a swarm (or one pending).
   */
  swarmMember?: boolean;
}

/** Issues the machine's server certificate from `authority` and copies the client set beside it. The caller holds the machine lock. */
export async function issueServerCert(session: Session, machine: Machine, ctx: OpContext, authority: BootstrapResult, options: ServerCertOptions = {}): Promise<void> {
  await writeMachineCerts(session.store.paths, {
    name: machine.record.name,
    organization: certOrganization(session.env),
    bootstrap: authority,
    sans: await machineSans(machine, ctx),
    clientAuth: options.swarmMember ?? (machine.record.swarm !== undefined || machine.record.pendingSwarm !== undefined),
    now: session.now(),
  });
}

/** Does the server certificate still name every address the machine has now? false when it is missing or unreadable. */
export async function serverCertCoversMachine(machine: Machine, ctx: OpContext): Promise<boolean> {
  const { parseCert, certCovers } = await import("../certs/check.js");
  const wanted = await machineSans(machine, ctx);
  try {
    const cert = await parseCert(readFileSync(machine.paths.serverCert, "utf8"));
    return wanted.every((san) => certCovers(cert, san));
  } catch {
    return false;
  }
}
