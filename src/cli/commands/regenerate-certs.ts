/** `tsm regenerate-certs [-f] [--client-certs] [NAME...]`: new server certificates (and optionally a new CA and client certificate). */
import type { Command } from "commander";
import type { CliContext } from "../support/context.js";
import { DEFAULT_MACHINE, manyTargets } from "../support/target.js";
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
      // --client-certs alone, in a store without a "default" machine, replaces the CA and
      // client certificate only: the way out of a damaged CA even when no machine is left.
      const caOnly = opts.clientCerts === true && names.length === 0 && !(await session.store.exists(DEFAULT_MACHINE));
      const targets = caOnly ? [] : await manyTargets(session, names);
      if (!opts.force) {
        if (!(await confirm(session.io, "Regenerate TLS machine certs?  Warning: this is irreversible. (y/n): "))) {
          session.io.err("Nothing was changed.\n");
          return;
        }
      }
      const { regenerateCerts } = await import("../../core/regenerate-certs.js");
      await regenerateCerts(session, targets, { clientCerts: opts.clientCerts === true });
    });
}
