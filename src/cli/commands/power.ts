/**
 * `start`, `stop`, `kill`, `restart`: one shape, four driver calls, for one or
 * more machines concurrently. Drivers that do not own their host's power
 * (none, generic) refuse before anything happens.
 */
import type { Command } from "commander";
import type { Driver, OpContext } from "../../model/driver.js";
import { MachineStateError, NotSupportedError } from "../../model/errors.js";
import { settleEach, throwFailures } from "../../core/multi.js";
import { openMachines } from "../../core/open.js";
import { opContext } from "../../core/session.js";
import type { CliContext } from "../context.js";
import { manyTargets } from "../target.js";

interface PowerVerb {
  name: "start" | "stop" | "kill" | "restart";
  description: string;
  /** State in which the verb has nothing to do, and the message for it. */
  already?: { state: string; message: (name: string) => string };
  run(driver: Driver, ctx: OpContext): Promise<void>;
  after?: string;
}

const VERBS: readonly PowerVerb[] = [
  {
    name: "start",
    description: "Start one or more machines",
    already: { state: "Running", message: (n) => `Machine "${n}" is already running.` },
    run: (d, c) => d.start(c),
    after: "Started machines may have new IP addresses. You may need to re-run the `tsm env` command.",
  },
  {
    name: "stop",
    description: "Stop one or more machines gracefully",
    already: { state: "Stopped", message: (n) => `Machine "${n}" is already stopped.` },
    run: (d, c) => d.stop(c),
  },
  { name: "kill", description: "Stop one or more machines forcefully", run: (d, c) => d.kill(c) },
  {
    name: "restart",
    description: "Restart one or more machines",
    run: (d, c) => d.restart(c),
    after: "Restarted machines may have new IP addresses. You may need to re-run the `tsm env` command.",
  },
];

export function registerPower(program: Command, ctx: CliContext): void {
  for (const verb of VERBS) {
    program
      .command(verb.name)
      .description(verb.description)
      .argument("[names...]", "machine names (default: \"default\")")
      .action(async (names: string[], _opts: unknown, command: Command) => {
        const session = ctx.session(command);
        const machines = await openMachines(session, await manyTargets(session, names));
        const results = await settleEach(machines, async (m) => {
          const opCtx = opContext(session, m.record.name);
          if (!m.driver.features.powerControl && verb.name !== "restart") throw new NotSupportedError(m.driver.name, verb.name);
          if (verb.already && (await m.driver.getState(opCtx)) === verb.already.state) {
            throw new MachineStateError(verb.already.message(m.record.name));
          }
          await verb.run(m.driver, opCtx);
          if (m.driver.features.powerControl && (verb.name === "start" || verb.name === "restart")) {
            const { afterStart } = await import("../../core/after-start.js");
            await afterStart(session, m, opCtx);
          }
        });
        if (verb.after && results.some((r) => r.ok)) session.io.err(`${verb.after}\n`);
        throwFailures(results);
      });
  }
}
