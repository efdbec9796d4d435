/**
 * What follows a VM's `start` or `restart` in core, so that `eval "$(tsm env NAME)"`
 * keeps working whatever the hypervisor did:
 * 1. the driver's settings (an address it discovered, the accelerator it used) are saved;
 * 2. if the machine's address is no longer named by its server certificate (a new DHCP
 *    lease: Docker Machine's most reported bug), the certificate is re-issued and
 *    installed on the host;
 * 3. the engine is awaited over mutual TLS, so `tsm start x && docker ps` works.
 */
import { readFileSync } from "node:fs";
import type { OpContext } from "../model/driver.js";
import type { MachineRecord } from "../model/machine.js";
import type { Machine } from "./machine.js";
import type { Session } from "./session.js";

export async function afterStart(session: Session, machine: Machine, ctx: OpContext): Promise<void> {
  const name = machine.record.name;
  const config = machine.driver.config();
  if (JSON.stringify(config) !== JSON.stringify(machine.record.driver.config)) {
    await session.store.withMachineLock(name, async () => {
      const current = await session.store.load(name);
      const saved: MachineRecord = { ...current, driver: { ...current.driver, config } };
      await session.store.save(saved);
      machine.replaceRecord(saved);
    });
  }
  if (!machine.driver.features.provisionable) return;

  const { machineSans, regenerateCerts } = await import("./regenerate-certs.js");
  const { parseCert, certCovers } = await import("../certs/check.js");
  const wanted = await machineSans(machine, ctx);
  let covered = false;
  try {
    const cert = await parseCert(readFileSync(machine.paths.serverCert, "utf8"));
    covered = wanted.every((san) => certCovers(cert, san));
  } catch {
    covered = false;
  }
  if (!covered) {
    ctx.log("The machine's address changed: re-issuing its server certificate...");
    await regenerateCerts(session, [name], { clientCerts: false });
    return; // regenerate-certs waits for the engine
  }
  const { waitForEngine } = await import("./provision.js");
  ctx.log("Waiting for the Docker engine...");
  await waitForEngine(session, machine, ctx, undefined);
}
