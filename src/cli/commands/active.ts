/**
 * `tsm active`: the machine the docker client currently points at, i.e. the
 * running machine whose URL equals $DOCKER_HOST (core/list.ts activeMachine).
 */
import type { Command } from "commander";
import { activeMachine } from "../../core/list.js";
import { throwIfAborted } from "../../model/abort.js";
import { TsmError, UsageError } from "../../model/errors.js";
import type { CliContext } from "../support/context.js";

export function registerActive(program: Command, ctx: CliContext): void {
  program
    .command("active")
    .description("Print which machine is active (the one $DOCKER_HOST points at)")
    .option("-t, --timeout <seconds>", "how long to wait for the machine", "10")
    .action(async (opts: { timeout: string }, command: Command) => {
      const session = ctx.session(command);
      if (command.args.length > 0) throw new UsageError("Too many arguments given: tsm active takes none");
      const timeoutMs = Number(opts.timeout) * 1000;
      if (!(timeoutMs > 0)) throw new UsageError(`Invalid --timeout ${JSON.stringify(opts.timeout)}: expected a number of seconds above 0`);
      const active = await activeMachine(session, timeoutMs);
      throwIfAborted(session.signal, "looking for the active machine");
      if (active.timedOut) throw new TsmError("ACTIVE_TIMEOUT", `Error getting active host: "${active.timedOut}" did not answer within ${opts.timeout}s`);
      if (!active.found) throw new TsmError("NO_ACTIVE", "No active host found");
      session.io.out(`${active.found}\n`);
    });
}
