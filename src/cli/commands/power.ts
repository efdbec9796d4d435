/**
 * `start`, `stop`, `kill`, `restart`: one shape, four verbs, for one or more
 * machines concurrently (core/lifecycle.ts powerMachines). Drivers that do not
 * own their host's power (none, generic) refuse before anything happens.
 */
import type { Command } from "commander";
import type { PowerVerb } from "../../core/lifecycle.js";
import { throwFailures } from "../../core/multi.js";
import type { CliContext } from "../support/context.js";
import { manyTargets } from "../support/target.js";

const VERBS: ReadonlyArray<{ name: PowerVerb; description: string; after?: string }> = [
  {
    name: "start",
    description: "Start one or more machines",
    after: "Started machines may have new IP addresses. You may need to re-run the `tsm env` command.",
  },
  { name: "stop", description: "Stop one or more machines gracefully" },
  { name: "kill", description: "Stop one or more machines forcefully" },
  {
    name: "restart",
    description: "Restart one or more machines",
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
        const targets = await manyTargets(session, names);
        const { powerMachines } = await import("../../core/lifecycle.js");
        const results = await powerMachines(session, verb.name, targets);
        if (verb.after && results.some((r) => r.ok)) session.io.err(`${verb.after}\n`);
        throwFailures(results);
      });
  }
}
