/**
 * `tsm provision [NAME...]`: runs provisioning again with the stored options
 * (install if missing, TLS configuration, restart, TLS check). Harmless to
 * repeat; the way to finish a create that failed midway.
 */
import type { Command } from "commander";
import { NotSupportedError } from "../../model/errors.js";
import { settleEach, throwFailures } from "../../core/multi.js";
import { openMachine } from "../../core/open.js";
import { opContext } from "../../core/session.js";
import type { CliContext } from "../context.js";
import { manyTargets } from "../target.js";

export function registerProvision(program: Command, ctx: CliContext): void {
  program
    .command("provision")
    .description("Provision machines again with their stored options")
    .argument("[names...]", "machine names (default: \"default\")")
    .action(async (names: string[], _opts: unknown, command: Command) => {
      const session = ctx.session(command);
      const targets = await manyTargets(session, names);
      const { provisionMachine } = await import("../../core/provision.js");
      const results = await settleEach(targets, (name) =>
        session.store.withMachineLock(name, async () => {
          const machine = await openMachine(session, name);
          if (!machine.driver.features.provisionable) throw new NotSupportedError(machine.driver.name, "provision: tsm does not manage that engine");
          await provisionMachine(session, machine, opContext(session, name), { pin: (r) => session.store.save(r) });
        }),
      );
      throwFailures(results);
    });
}
