/**
 * `tsm rm [-f] [-y] NAME...`: asks once, then removes each machine in turn.
 * Declining (or end of input) removes nothing and exits 0, as Docker Machine does.
 */
import type { Command } from "commander";
import type { CliContext } from "../support/context.js";
import { explicitTargets } from "../support/target.js";
import { confirm } from "../support/confirm.js";

export function registerRm(program: Command, ctx: CliContext): void {
  program
    .command("rm")
    .description("Remove machines (their VMs and disks, and their records)")
    .argument("[names...]", "machines to remove")
    .option("-f, --force", "remove the record even if the driver fails or the record is unreadable; implies -y")
    .option("-y", "do not ask for confirmation")
    .option("--clean-host", "on servers tsm did not create (generic), also remove the Docker configuration and certificates tsm installed")
    .action(async (names: string[], opts: { force?: boolean; y?: boolean; cleanHost?: boolean }, command: Command) => {
      const session = ctx.session(command);
      const { io } = session;
      const targets = explicitTargets(names, "remove");
      io.err(`About to remove ${targets.join(", ")}\n`);
      io.err("WARNING: This action will delete both local reference and remote instance.\n");
      if (!opts.force && !opts.y) {
        if (!(await confirm(io, "Are you sure? (y/n): "))) {
          io.err("Nothing was removed.\n");
          return;
        }
      }
      const { removeMachines } = await import("../../core/lifecycle.js");
      await removeMachines(session, targets, { force: opts.force === true, cleanHost: opts.cleanHost === true }, (name, outcome) => {
        if (outcome === "absent") io.err(`Machine "${name}" does not exist; nothing to remove.\n`);
        else io.out(`Successfully removed ${name}\n`);
      });
    });
}
