/** `tsm ip [NAME...]`: each machine's address, in the order asked, looked up concurrently. */
import type { Command } from "commander";
import { settleEach, throwFailures } from "../../core/multi.js";
import { openMachines } from "../../core/open.js";
import { opContext } from "../../core/session.js";
import type { CliContext } from "../support/context.js";
import { manyTargets } from "../support/target.js";

export function registerIp(program: Command, ctx: CliContext): void {
  program
    .command("ip")
    .description("Print the IP address (or host name) of one or more machines")
    .argument("[names...]", "machine names (default: \"default\")")
    .action(async (names: string[], _opts: unknown, command: Command) => {
      const session = ctx.session(command);
      const machines = await openMachines(session, await manyTargets(session, names));
      const results = await settleEach(machines, (m) => m.driver.getIp(opContext(session, m.record.name)));
      session.io.out(results.map((r) => (r.ok ? `${r.value}\n` : "")).join(""));
      throwFailures(results);
    });
}
