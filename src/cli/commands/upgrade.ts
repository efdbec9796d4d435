/** `tsm upgrade [NAME...]`: upgrades Docker Engine by the machine's install method, then checks TLS. */
import type { Command } from "commander";
import { NotSupportedError } from "../../model/errors.js";
import { settleEach, throwFailures } from "../../core/multi.js";
import { openMachine } from "../../core/open.js";
import { opContext } from "../../core/session.js";
import type { CliContext } from "../context.js";
import { manyTargets } from "../target.js";

export function registerUpgrade(program: Command, ctx: CliContext): void {
  program
    .command("upgrade")
    .description("Upgrade Docker Engine on machines")
    .argument("[names...]", "machine names (default: \"default\")")
    .action(async (names: string[], _opts: unknown, command: Command) => {
      const session = ctx.session(command);
      const targets = await manyTargets(session, names);
      const { upgradeMachine } = await import("../../core/provision.js");
      const results = await settleEach(targets, (name) =>
        session.store.withMachineLock(name, async () => {
          const machine = await openMachine(session, name);
          if (!machine.driver.features.provisionable) throw new NotSupportedError(machine.driver.name, "upgrade: tsm does not manage that engine");
          const version = await upgradeMachine(session, machine, opContext(session, name));
          session.io.err(`(${name}) Docker ${version} is running.\n`);
        }),
      );
      throwFailures(results);
    });
}
