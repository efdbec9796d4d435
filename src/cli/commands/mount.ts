/**
 * `tsm mount [-u] [user@]MACHINE:PATH [MOUNTPOINT]`: mounts a directory of the
 * machine locally with sshfs (which must be installed), checking the host key
 * tsm pinned: sshfs gets the machine's known_hosts file written from the pinned
 * key (core/openssh.ts, shared with ssh and scp), with strict checking. `-u` unmounts.
 */
import type { Command } from "commander";
import { TsmError, UsageError } from "../../model/errors.js";
import { openMachine } from "../../core/open.js";
import { opContext } from "../../core/session.js";
import type { CliContext } from "../support/context.js";
import { parseScpLocation } from "./scp.js";

export function registerMount(program: Command, ctx: CliContext): void {
  program
    .command("mount")
    .description("Mount a machine's directory locally with sshfs: [user@]machine:path [mountpoint]")
    .argument("<source>", "[user@]machine:path")
    .argument("[mountpoint]", "local directory (default: the last part of path, in the current directory)")
    .option("-u, --unmount", "unmount instead")
    .action(async (source: string, mountpoint: string | undefined, opts: { unmount?: boolean }, command: Command) => {
      const session = ctx.session(command);
      const loc = parseScpLocation(source);
      if (!loc.machine) throw new UsageError(`Expected [user@]machine:path, got ${JSON.stringify(source)}`);
      const path = await import("node:path");
      const target = path.resolve(mountpoint ?? path.posix.basename(loc.path.replace(/\/+$/, "")) ?? "mnt");
      if (opts.unmount) {
        const [file, args] = session.platform === "darwin" ? ["umount", [target]] : ["fusermount", ["-u", target]];
        await session.exec(file, args).catch((err: Error) => {
          throw new TsmError("UNMOUNT", `Cannot unmount ${target}: ${err.message}`, { cause: err });
        });
        return;
      }
      const machine = await openMachine(session, loc.machine);
      const opCtx = opContext(session, loc.machine);
      const endpoint = await machine.driver.getSshEndpoint(opCtx);
      const { pinnedKnownHosts } = await import("../../core/openssh.js");
      const knownHosts = await pinnedKnownHosts(session, machine, endpoint, loc.user);
      const { mkdirSync } = await import("node:fs");
      mkdirSync(target, { recursive: true });
      const args = [
        `${loc.user ?? endpoint.user}@${endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host}:${loc.path}`,
        target,
        "-o",
        `port=${endpoint.port}`,
        "-o",
        `UserKnownHostsFile=${knownHosts}`,
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "reconnect",
        ...(endpoint.privateKeyPath ? ["-o", `IdentityFile=${endpoint.privateKeyPath}`, "-o", "IdentitiesOnly=yes"] : []),
      ];
      try {
        await session.exec("sshfs", args);
      } catch (err) {
        const e = err as Error & { code?: string; result?: { stderr?: string } };
        if (/ENOENT/.test(e.message) || e.code === "ENOENT") {
          throw new TsmError("NO_SSHFS", "sshfs is not installed: install it (Debian/Ubuntu: apt-get install sshfs; macOS: macFUSE and sshfs) to use tsm mount", { cause: err });
        }
        throw new TsmError("MOUNT", `sshfs could not mount ${source} on ${target}: ${e.message}`, { cause: err });
      }
      session.io.err(`Mounted ${source} on ${target}; unmount with: tsm mount -u ${source} ${target}\n`);
    });
}
