/**
 * Remote access to a machine over SSH: the driver says where, the record holds
 * the pinned host key. On first contact the key is pinned (saved in the record);
 * later a different key is refused by the SSH layer before authentication.
 * Every SSH connection to a machine (ssh, scp, mount, provisioning, the drivers'
 * own `withRemote`) is opened here.
 */
import type { OpContext } from "../model/driver.js";
import type { MachineRecord } from "../model/machine.js";
import type { Remote } from "../model/seams.js";
import { sshDeadlineMs } from "../model/timeouts.js";
import type { SshSession } from "../ssh/client.js";
import type { Machine } from "./machine.js";
import { opContext, type Session } from "./session.js";

export interface RemoteOptions {
  /** Log in as this user instead of the driver's (`user@machine:` in scp and mount); same host, port and key. */
  user?: string;
  /**
   * Saves a newly pinned host key. The default takes the machine lock and
   * saves the record; callers that already hold the lock (create, provision)
   * pass a function that saves directly.
   */
  pin?: (record: MachineRecord) => Promise<void>;
}

export interface ConnectOptions extends RemoteOptions {
  deadlineMs?: number;
  signal?: AbortSignal;
  /**
   * Connect as on first contact, without checking the key pinned in the record
   * (`ssh-trust`): the key seen goes to `pin` only, and the handle keeps its record.
   */
  ignorePinnedKey?: boolean;
}

async function connect(session: Session, machine: Machine, options: ConnectOptions): Promise<{ ssh: SshSession; user: string }> {
  const name = machine.record.name;
  const ctx = opContext(session, name);
  const endpoint = await machine.driver.getSshEndpoint(ctx);
  const user = options.user ?? endpoint.user;
  // A key the driver gave the guest itself (a VM's seed) is as good as a pinned one, even
  // before core has saved it in the record (the driver's own create connects first).
  const pinned = (options.ignorePinnedKey ? undefined : machine.record.ssh?.hostKey) ?? machine.driver.expectedHostKey?.();
  const ssh = await session.ssh({
    target: { host: endpoint.host, port: endpoint.port, user, privateKeyPath: endpoint.privateKeyPath },
    pinnedHostKey: pinned,
    deadlineMs: options.deadlineMs ?? sshDeadlineMs(session.env),
    signal: options.signal ?? session.signal,
    env: session.env,
    log: (line) => ctx.debug(line),
    machineName: name,
  });
  if (pinned === undefined) {
    // Trust on first use, for hosts tsm did not create (generic).
    const updated: MachineRecord = { ...machine.record, ssh: { hostKey: ssh.hostKey } };
    const save = options.pin ?? ((r: MachineRecord) => session.store.withMachineLock(r.name, () => session.store.save(r)));
    await save(updated);
    if (!options.ignorePinnedKey) machine.replaceRecord(updated);
    ctx.debug(`pinned SSH host key ${ssh.hostKey}`);
  }
  return { ssh, user };
}

/** Opens an SSH session to the machine; the caller closes it. */
export async function connectMachine(session: Session, machine: Machine, options: ConnectOptions = {}): Promise<SshSession> {
  return (await connect(session, machine, options)).ssh;
}

/** Runs `fn` with a Remote over one SSH connection to the machine, closing it afterwards. */
export async function withRemote<T>(session: Session, machine: Machine, ctx: OpContext, fn: (remote: Remote) => Promise<T>, options: RemoteOptions = {}): Promise<T> {
  const { ssh, user } = await connect(session, machine, { ...options, signal: ctx.signal });
  try {
    return await fn(remoteOf(ssh, user, ctx.signal, ctx.debug));
  } finally {
    ssh.close();
  }
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
