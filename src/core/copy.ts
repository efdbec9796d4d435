/**
 * Copying files (`tsm scp`): this computer to a machine and back through OpenSSH's scp
 * when it is installed (Docker Machine's way), else the built-in client's SFTP; machine to
 * machine through a local temporary copy with the built-in client (the two hosts need not
 * reach each other); `delta` with rsync over the same pinned ssh options.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { TsmError, UsageError } from "../model/errors.js";
import type { CopySide } from "../ssh/openssh-args.js";
import type { SshSession } from "../ssh/client.js";
import { openMachine } from "./open.js";
import { connectMachine } from "./remote.js";
import type { Session } from "./session.js";

/** One side of a copy: a local path, or a path on a machine (relative to the login directory). */
export interface CopyLocation {
  machine?: string;
  /** Log in as this user instead of the driver's. */
  user?: string;
  path: string;
}

async function connectTo(session: Session, loc: CopyLocation & { machine: string }): Promise<SshSession> {
  return connectMachine(session, await openMachine(session, loc.machine), { user: loc.user });
}

function onMachine(loc: CopyLocation): loc is CopyLocation & { machine: string } {
  return loc.machine !== undefined;
}

export interface CopyOptions {
  recursive: boolean;
  /** rsync over ssh (scp -d): only the differences travel. */
  delta?: boolean;
  /** No progress output (scp -q; rsync without --progress). */
  quiet?: boolean;
}

/**
 * One copy between this computer and one machine through an OpenSSH tool (scp, or rsync
 * for delta), with the terminal. false when the built-in client is to do it instead.
 */
async function copyWithOpenSsh(session: Session, from: CopyLocation, to: CopyLocation, options: CopyOptions): Promise<boolean> {
  const { openSshTarget, openSshTool, runOpenSsh, wantsNativeSsh } = await import("./openssh.js");
  const remote = onMachine(from) ? from : to;
  if (!onMachine(remote)) return false;
  let tool: string | undefined;
  let ssh: string | undefined;
  if (options.delta) {
    [tool, ssh] = [await openSshTool(session, "rsync"), await openSshTool(session, "ssh")];
    if (tool === undefined || ssh === undefined) {
      throw new TsmError("NO_RSYNC", `scp --delta needs rsync and OpenSSH's ssh on PATH (${tool === undefined ? "rsync" : "ssh"} is missing): install them (Debian/Ubuntu: apt-get install rsync openssh-client), or copy without --delta`);
    }
  } else {
    if (wantsNativeSsh(session)) return false;
    [tool, ssh] = [await openSshTool(session, "scp"), await openSshTool(session, "ssh")];
    if (tool === undefined || ssh === undefined) return false;
  }
  const machine = await openMachine(session, remote.machine);
  const target = await openSshTarget(session, machine, remote.user);
  const side = (loc: CopyLocation): CopySide => (onMachine(loc) ? { remote: loc.path } : { local: loc.path });
  const { rsyncArgs, scpArgs } = await import("../ssh/openssh-args.js");
  const build = options.delta ? rsyncArgs : scpArgs;
  const args = build(ssh, target, side(from), side(to), { recursive: options.recursive, quiet: options.quiet === true });
  const status = await runOpenSsh(session, machine, target, tool, args);
  if (status !== 0) {
    throw new TsmError("SSH_FILE_TRANSFER", `${path.basename(tool)} could not copy ${describe(from)} to ${describe(to)} (exit ${status}); its message is above`, { exitCode: 1 });
  }
  return true;
}

function describe(loc: CopyLocation): string {
  return onMachine(loc) ? `${loc.user ? `${loc.user}@` : ""}${loc.machine}:${loc.path}` : loc.path;
}

export async function copyFiles(session: Session, from: CopyLocation, to: CopyLocation, options: CopyOptions): Promise<void> {
  const { recursive } = options;
  if (!onMachine(from) && !onMachine(to)) throw new UsageError("Neither the source nor the target names a machine: use MACHINE:PATH on one side");
  if (onMachine(from) && onMachine(to)) {
    if (options.delta) throw new UsageError("scp --delta copies between this computer and one machine; copy machine to machine without --delta");
  } else if (await copyWithOpenSsh(session, from, to, options)) {
    return;
  }
  if (onMachine(from) && onMachine(to)) {
    const tmp = await mkdtemp(path.join(os.tmpdir(), "tsm-scp-"));
    const a = await connectTo(session, from);
    try {
      const local = path.join(tmp, path.posix.basename(from.path.replace(/\/+$/, "")) || "root");
      await a.download(from.path, local, { recursive });
      const b = await connectTo(session, to);
      try {
        await b.upload(local, to.path, { recursive });
      } finally {
        b.close();
      }
    } finally {
      a.close();
      await rm(tmp, { recursive: true, force: true });
    }
    return;
  }
  if (onMachine(from)) {
    const ssh = await connectTo(session, from);
    try {
      await ssh.download(from.path, to.path, { recursive });
    } finally {
      ssh.close();
    }
    return;
  }
  if (onMachine(to)) {
    const ssh = await connectTo(session, to);
    try {
      await ssh.upload(from.path, to.path, { recursive });
    } finally {
      ssh.close();
    }
    return;
  }
  throw new UsageError("Neither the source nor the target names a machine: use MACHINE:PATH on one side");
}
