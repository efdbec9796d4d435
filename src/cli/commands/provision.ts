/**
 * `tsm provision [NAME...]`: runs provisioning again with the stored options
 * (install if missing, TLS configuration, restart, TLS check). Harmless to
 * repeat; the way to finish a create that failed midway.
 */
import type { Command } from "commander";
import { throwFailures } from "../../core/multi.js";
import type { CliContext } from "../support/context.js";
import { manyTargets } from "../support/target.js";

export function registerProvision(program: Command, ctx: CliContext): void {
  program
    .command("provision")
    .description("Provision machines again with their stored options")
    .argument("[names...]", "machine names (default: \"default\")")
    .action(async (names: string[], _opts: unknown, command: Command) => {
      const session = ctx.session(command);
      const targets = await manyTargets(session, names);
      const { provisionMachines } = await import("../../core/provision.js");
      throwFailures(await provisionMachines(session, targets));
    });
}
