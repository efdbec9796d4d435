/** `tsm url [NAME]`: the machine's engine URL. */
import type { Command } from "commander";
import { openMachine } from "../../core/open.js";
import { opContext } from "../../core/session.js";
import type { CliContext } from "../support/context.js";
import { oneTarget } from "../support/target.js";

export function registerUrl(program: Command, ctx: CliContext): void {
  program
    .command("url")
    .description("Print the URL of a machine's Docker engine")
    .argument("[name]", "machine name (default: \"default\")")
    .action(async (name: string | undefined, _opts: unknown, command: Command) => {
      const session = ctx.session(command);
      const machine = await openMachine(session, await oneTarget(session, name === undefined ? [] : command.args));
      session.io.out(`${await machine.driver.getUrl(opContext(session, machine.record.name))}\n`);
    });
}
