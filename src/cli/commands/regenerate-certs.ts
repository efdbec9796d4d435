/** `tsm regenerate-certs [-f] [--client-certs] [NAME...]`: new server certificates (and optionally a new CA and client certificate). */
import type { Command } from "commander";
import type { CliContext } from "../support/context.js";
import { manyTargets } from "../support/target.js";
import { confirm } from "../support/confirm.js";

export function registerRegenerateCerts(program: Command, ctx: CliContext): void {
  program
    .command("regenerate-certs")
    .description("Re-issue TLS certificates for machines (their engines restart to use them)")
    .argument("[names...]", "machine names (default: \"default\")")
    .option("-f, --force", "do not ask for confirmation")
    .option("--client-certs", "also replace the CA and the client certificate")
    .action(async (names: string[], opts: { force?: boolean; clientCerts?: boolean }, command: Command) => {
      const session = ctx.session(command);
      const targets = await manyTargets(session, names);
      if (!opts.force) {
        if (!(await confirm(session.io, "Regenerate TLS machine certs?  Warning: this is irreversible. (y/n): "))) {
          session.io.err("Nothing was changed.\n");
          return;
        }
      }
      const { regenerateCerts } = await import("../../core/machine-certs.js");
      await regenerateCerts(session, targets, { clientCerts: opts.clientCerts === true });
    });
}
