/**
 * `tsm active`: the machine the docker client currently points at, i.e. the
 * running machine whose URL equals $DOCKER_HOST. Only candidates with that URL
 * are probed, each bounded by --timeout.
 */
import type { Command } from "commander";
import { TsmError, UsageError } from "../../model/errors.js";
import { openRecord } from "../../core/open.js";
import { opContext } from "../../core/session.js";
import { probeMachine } from "../../core/probe.js";
import type { CliContext } from "../context.js";

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
      const dockerHost = session.env.DOCKER_HOST;
      const notFound = new TsmError("NO_ACTIVE", "No active host found");
      if (!dockerHost) throw notFound;
      const names = await session.store.list();
      const records = (await Promise.all(names.map((n) => session.store.tryLoad(n)))).flatMap((r) => (r.ok ? [r.record] : []));
      const matches = await Promise.all(
        records.map(async (record) => {
          try {
            const machine = await openRecord(session, record);
            return (await machine.driver.getUrl(opContext(session, record.name))) === dockerHost ? record : undefined;
          } catch {
            return undefined;
          }
        }),
      );
      for (const record of matches) {
        if (!record) continue;
        const probe = await probeMachine(session, record, { timeoutMs, stateOnly: true });
        if (probe.state === "Timeout") throw new TsmError("ACTIVE_TIMEOUT", `Error getting active host: "${record.name}" did not answer within ${opts.timeout}s`);
        if (probe.state === "Running") {
          session.io.out(`${record.name}\n`);
          return;
        }
      }
      throw notFound;
    });
}
