/**
 * Provisioning over SSH, shared by every driver whose host tsm manages
 * (generic, qemu, virtualbox). Work in progress: wired to src/provision next.
 */
import type { OpContext } from "./driver.js";
import { TsmError } from "./errors.js";
import type { Machine } from "./open.js";
import type { Session } from "./session.js";

export async function installCertsOnHost(_session: Session, machine: Machine, _ctx: OpContext): Promise<void> {
  throw new TsmError("NOT_YET", `Installing certificates on "${machine.record.name}" over SSH is not wired yet`);
}
