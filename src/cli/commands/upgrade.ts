/** `tsm upgrade [NAME...]`: upgrades Docker Engine by the machine's install method, then checks TLS. */
import type { Command } from "commander";
import { throwFailures } from "../../core/multi.js";
import type { CliContext } from "../support/context.js";
import { manyTargets } from "../support/target.js";

export function registerUpgrade(program: Command, ctx: CliContext): void {
  program
    .command("upgrade")
    .description("Upgrade Docker Engine on machines")
    .argument("[names...]", "machine names (default: \"default\")")
    .action(async (names: string[], _opts: unknown, command: Command) => {
      const session = ctx.session(command);
      const targets = await manyTargets(session, names);
      const { upgradeMachines } = await import("../../core/provision.js");
      const results = await upgradeMachines(session, targets, (name, version) => session.io.err(`(${name}) Docker ${version} is running.\n`));
      throwFailures(results);
    });
}
