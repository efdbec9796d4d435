/**
 * Copying files over SFTP (`tsm scp`): this computer to a machine, a machine to
 * this computer, and machine to machine through a local temporary copy (the two
 * hosts need not reach each other).
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { UsageError } from "../model/errors.js";
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

export async function copyFiles(session: Session, from: CopyLocation, to: CopyLocation, options: { recursive: boolean }): Promise<void> {
  const { recursive } = options;
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
