/**
 * `tsm config [NAME]`: the docker client flags for a machine, one per line,
 * for `docker $(tsm config NAME) ps`. Same local checks as `env`.
 */
import type { Command } from "commander";
import { checkedLive, machineConnection } from "../../core/connection.js";
import { openMachine, openSwarmManager } from "../../core/open.js";
import type { CliContext } from "../support/context.js";
import { oneTarget } from "../support/target.js";

/** Go's %q for the plain paths tsm writes (docker strips the quotes from --tls* values). */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

export function registerConfig(program: Command, ctx: CliContext): void {
  program
    .command("config")
    .description("Print the docker client flags that connect to a machine")
    .argument("[name]", "machine name (default: \"default\")")
    .option("--swarm", "connect to the machine's Swarm mode cluster (a manager)")
    .option("--check", "also check the engine over TLS now (needs the network)")
    .action(async (name: string | undefined, opts: { swarm?: boolean; check?: boolean }, command: Command) => {
      const session = ctx.session(command);
      let machine = await openMachine(session, await oneTarget(session, name === undefined ? [] : command.args));
      if (opts.swarm) machine = await openSwarmManager(session, machine);
      const connection = opts.check ? await checkedLive(session, machine) : await machineConnection(session, machine);
      const p = machine.paths;
      session.io.out(
        [
          "--tlsverify",
          `--tlscacert=${goQuote(p.caCert)}`,
          `--tlscert=${goQuote(p.clientCert)}`,
          `--tlskey=${goQuote(p.clientKey)}`,
          `-H=${connection.url}`,
        ].join("\n") + "\n",
      );
    });
}
