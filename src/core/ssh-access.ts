/**
 * Opening SSH to a machine: the driver says where, the record holds the
 * pinned host key. On first contact the key is pinned (saved in the record);
 * later a different key is refused by the SSH layer before authentication.
 */
import type { SshSession } from "../ssh/client.js";
import type { Remote } from "../provision/remote.js";
import { sshDeadlineMs } from "../model/timeouts.js";
import type { MachineRecord } from "../model/machine.js";
import type { Machine } from "./open.js";
import { opContext, type Session } from "./session.js";

export interface ConnectOptions {
  deadlineMs?: number;
  signal?: AbortSignal;
  /**
   * Saves a newly pinned host key. The default takes the machine lock and
   * saves the record; callers that already hold the lock (create, provision)
   * pass a function that saves directly.
   */
  pin?: (record: MachineRecord) => Promise<void>;
}


export async function connectMachine(session: Session, machine: Machine, options: ConnectOptions = {}): Promise<SshSession> {
  const ctx = opContext(session, machine.record.name);
  const endpoint = await machine.driver.getSshEndpoint(ctx);
  // A key the driver gave the guest itself (a VM's seed) is as good as a pinned one, even
  // before core has saved it in the record (the driver's own create connects first).
  const pinned = machine.record.ssh?.hostKey ?? machine.driver.expectedHostKey?.();
  const ssh = await session.ssh({
    target: { host: endpoint.host, port: endpoint.port, user: endpoint.user, privateKeyPath: endpoint.privateKeyPath },
    pinnedHostKey: pinned,
    deadlineMs: options.deadlineMs ?? sshDeadlineMs(session.env),
    signal: options.signal ?? session.signal,
    env: session.env,
    log: (line) => ctx.debug(line),
    machineName: machine.record.name,
  });
  if (pinned === undefined) {
    // Trust on first use, for hosts tsm did not create (generic).
    const updated: MachineRecord = { ...machine.record, ssh: { hostKey: ssh.hostKey } };
    const save = options.pin ?? ((r: MachineRecord) => session.store.withMachineLock(r.name, () => session.store.save(r)));
    await save(updated);
    (machine as { record: MachineRecord }).record = updated;
    ctx.debug(`pinned SSH host key ${ssh.hostKey}`);
  }
  return ssh;
}

/** The provisioner's view of an SSH session. Each command is one round trip, logged under --debug. */
export function remoteOf(ssh: SshSession, user: string, signal?: AbortSignal, debug?: (line: string) => void): Remote {
  return {
    isRoot: user === "root",
    run: (command, options = {}) => {
      debug?.(`ssh round trip: ${command.split("\n").find((l) => l.trim() !== "" && !l.startsWith("#!")) ?? ""}`.slice(0, 160));
      return ssh.exec(command, { input: options.input, timeoutMs: options.timeoutMs, signal }).then((r) => ({
        stdout: r.stdout,
        stderr: r.stderr,
        exitCode: r.exitCode,
      }));
    },
  };
}
