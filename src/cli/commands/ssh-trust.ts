/**
 * `tsm ssh-trust [-f] NAME`: accept a machine's new SSH host key (after a
 * reinstall), showing the old and new fingerprints first. The documented way
 * out of a host key mismatch.
 */
import type { Command } from "commander";
import { openMachine } from "../../core/open.js";
import type { CliContext } from "../support/context.js";
import { oneTarget } from "../support/target.js";
import { confirm } from "../support/confirm.js";

export function registerSshTrust(program: Command, ctx: CliContext): void {
  program
    .command("ssh-trust")
    .description("Accept a machine's current SSH host key (after the host was reinstalled)")
    .argument("[name]", "machine name (default: \"default\")")
    .option("-f, --force", "do not ask for confirmation")
    .action(async (name: string | undefined, opts: { force?: boolean }, command: Command) => {
      const session = ctx.session(command);
      const target = await oneTarget(session, name === undefined ? [] : command.args);
      await session.store.withMachineLock(target, async () => {
        const machine = await openMachine(session, target);
        const old = machine.record.ssh?.hostKey;
        const { connectMachine } = await import("../../core/remote.js");
        // Connect as on first contact, keeping the new key only if the user agrees.
        let seen = "";
        const ssh = await connectMachine(session, machine, {
          ignorePinnedKey: true,
          pin: async (r) => {
            seen = r.ssh?.hostKey ?? "";
          },
        });
        ssh.close();
        session.io.err(`Pinned host key:  ${old ?? "(none)"}\nCurrent host key: ${seen}\n`);
        if (old === seen) {
          session.io.err("They are the same: nothing to do.\n");
          return;
        }
        if (!opts.force) {
          if (!(await confirm(session.io, "Trust the current key? Check it on the host first (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub). (y/n): "))) {
            session.io.err("The pinned key is unchanged.\n");
            return;
          }
        }
        await session.store.save({ ...machine.record, ssh: { hostKey: seen } });
        session.io.err(`"${target}" now trusts ${seen}\n`);
      });
    });
}
