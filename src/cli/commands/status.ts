/** `tsm status [NAME]`: the machine's state (Running, Stopped, ...), live from its driver. */
import type { Command } from "commander";
import { openMachine } from "../../core/open.js";
import { opContext } from "../../core/session.js";
import type { CliContext } from "../support/context.js";
import { oneTarget } from "../support/target.js";

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .description("Print the state of a machine")
    .argument("[name]", "machine name (default: \"default\")")
    .action(async (name: string | undefined, _opts: unknown, command: Command) => {
      const session = ctx.session(command);
      const machine = await openMachine(session, await oneTarget(session, name === undefined ? [] : command.args));
      session.io.out(`${await machine.driver.getState(opContext(session, machine.record.name))}\n`);
    });
}
