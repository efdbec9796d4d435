/**
 * The system's OpenSSH client for `tsm ssh`, `tsm scp` (and rsync for `scp --delta`),
 * as Docker Machine uses it: by default when `ssh` is on PATH; the built-in client (ssh2)
 * with --native-ssh / MACHINE_NATIVE_SSH or when OpenSSH is absent.
 *
 * Host keys stay pinned: OpenSSH checks against `<machine dir>/known_hosts`, written from
 * the key the built-in client verified against the record's pin (or pinned on first
 * contact). The file is reused while its key still has the pinned fingerprint and its host
 * field the machine's current address, so a later `tsm ssh` opens one connection, OpenSSH's.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { SshEndpoint } from "../model/driver.js";
import { TsmError } from "../model/errors.js";
import { sshDeadlineMs } from "../model/timeouts.js";
import { formatHostKey, hostKeyMatches, keyTypeOfBlob } from "../ssh/host-key.js";
import { checkTarget, knownHostsField, type OpenSshTarget } from "../ssh/openssh-args.js";
import { hostPort } from "../ssh/errors.js";
import { writeFileAtomic } from "../store/atomic.js";
import type { Machine } from "./machine.js";
import { connectMachine } from "./remote.js";
import { opContext, type Session } from "./session.js";

/**
 * Whether the built-in client is asked for: session.nativeSsh, which the CLI sets from
 * --native-ssh, else TSM_NATIVE_SSH, else MACHINE_NATIVE_SSH (src/cli/program.ts globalSettings).
 */
export function wantsNativeSsh(session: Pick<Session, "nativeSsh">): boolean {
  return session.nativeSsh;
}

/** The OpenSSH tool to run, or undefined for the built-in client (asked for, or `tool` not on PATH). */
export async function openSshTool(session: Session, tool: "ssh" | "scp" | "rsync"): Promise<string | undefined> {
  const { findOnPath } = await import("../exec/interactive.js");
  const found = findOnPath(tool, session.env, session.platform);
  opContext(session).debug(found ? `using ${found}` : `${tool} is not on PATH`);
  return found;
}

/** The known_hosts line's key, when the file is for `field` and holds the pinned key; else undefined. */
function pinnedLineOf(file: string, field: string, pinned: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const [host, type, b64, ...rest] = text.trim().split(/\s+/);
  if (host !== field || !type || !b64 || rest.length > 0 || text.trim().includes("\n")) return undefined;
  const blob = Buffer.from(b64, "base64");
  if (keyTypeOfBlob(blob) !== type || !hostKeyMatches(pinned, formatHostKey(blob))) return undefined;
  return `${type} ${b64}`;
}

/**
 * `<machine dir>/known_hosts` holding exactly the machine's pinned host key for its current
 * address: reused when it still matches the record's pin, else rewritten from a connection
 * of the built-in client (which refuses a changed key, or pins the first one). Also used
 * by `tsm mount` (sshfs).
 */
export async function pinnedKnownHosts(session: Session, machine: Machine, endpoint: SshEndpoint, user?: string): Promise<string> {
  const file = path.join(machine.paths.dir, "known_hosts");
  const field = knownHostsField(endpoint.host, endpoint.port);
  const pinned = machine.record.ssh?.hostKey ?? machine.driver.expectedHostKey?.();
  if (pinned !== undefined && pinnedLineOf(file, field, pinned) !== undefined) return file;
  const ssh = await connectMachine(session, machine, { user });
  try {
    writeFileAtomic(file, `${field} ${ssh.hostPublicKey}\n`, { mode: 0o600 });
  } finally {
    ssh.close();
  }
  opContext(session, machine.record.name).debug(`wrote ${file} from the pinned host key ${ssh.hostKey}`);
  return file;
}

/** Where OpenSSH goes for this machine (as `user` when given), with the pinned known_hosts file ready. */
export async function openSshTarget(session: Session, machine: Machine, user?: string): Promise<OpenSshTarget> {
  const endpoint = await machine.driver.getSshEndpoint(opContext(session, machine.record.name));
  // Before any connection: what the record says must not be able to become an option.
  checkTarget({ host: endpoint.host, port: endpoint.port, user: user ?? endpoint.user });
  const knownHostsFile = await pinnedKnownHosts(session, machine, endpoint, user);
  return {
    host: endpoint.host,
    port: endpoint.port,
    user: user ?? endpoint.user,
    privateKeyPath: endpoint.privateKeyPath === "" ? "" : path.resolve(endpoint.privateKeyPath),
    knownHostsFile,
    verbose: session.debug,
  };
}

/**
 * Runs an OpenSSH tool (ssh, scp, rsync) with the terminal; resolves with its exit status.
 * A failure that may be the connection's (ssh's 255; any failure of scp or rsync, whose
 * codes for a lost ssh vary) is explained in one line: the built-in client connects once
 * and throws its own error (SshHostKeyMismatchError, SshUnreachableError, SshAuthError...).
 * When it gets through, ssh's 255 is still reported as OpenSSH's failure; scp's and rsync's
 * statuses are returned for the caller to report.
 */
export async function runOpenSsh(session: Session, machine: Machine, target: OpenSshTarget, file: string, args: readonly string[]): Promise<number> {
  const ctx = opContext(session, machine.record.name);
  const tool = path.basename(file);
  ctx.debug(`running ${[file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ")}`);
  const { runWithInheritedStdio } = await import("../exec/interactive.js");
  let status: number;
  try {
    status = await runWithInheritedStdio(file, args, { env: session.env, signal: session.signal });
  } catch (err) {
    throw new TsmError("SSH_CONNECT", `Cannot run ${file}: ${(err as Error).message}`, { cause: err });
  }
  const mayBeConnection = tool === "ssh" ? status === 255 : status !== 0;
  if (!mayBeConnection) return status;
  ctx.debug(`${tool} exited with ${status}: asking the built-in client whether the connection is the cause`);
  const probe = await connectMachine(session, machine, { user: target.user, deadlineMs: Math.min(sshDeadlineMs(session.env), 20_000) });
  probe.close();
  if (tool !== "ssh") return status;
  throw new TsmError(
    "SSH_CONNECT",
    `ssh exited with 255 (OpenSSH's connection error) although ${hostPort(target.host, target.port)} accepts tsm's own connection: ` +
      `an option OpenSSH refused, or the remote command's own status 255. Run with --debug to see OpenSSH's message, or use --native-ssh`,
  );
}
