/** `tsm version [NAME]`: tsm's version, or the Docker engine version of a machine (over the API). */
import type { Command } from "commander";
import { machineTlsConnection } from "../../core/connection.js";
import { TsmError } from "../../model/errors.js";
import { openMachine } from "../../core/open.js";
import { getEngineVersion } from "../../docker/engine-api.js";
import type { CliContext } from "../support/context.js";
import { versionLine } from "../support/build-info.js";
import { oneTarget } from "../support/target.js";

export function registerVersion(program: Command, ctx: CliContext): void {
  program
    .command("version")
    .description("Print the tsm version, or the Docker engine version of a machine")
    .argument("[name]", "machine name")
    .action(async (name: string | undefined, _opts: unknown, command: Command) => {
      const session = ctx.session(command);
      if (name === undefined) {
        session.io.out(`${versionLine()}\n`);
        return;
      }
      const machine = await openMachine(session, await oneTarget(session, command.args));
      const connection = await machineTlsConnection(session, machine);
      try {
        const v = await getEngineVersion(connection.endpoint, { timeoutMs: 20_000, signal: session.signal });
        session.io.out(`${v.Version}\n`);
      } catch (err) {
        throw new TsmError("ENGINE_VERSION", `Unable to query docker version: ${(err as Error).message}`, { cause: err });
      }
    });
}
