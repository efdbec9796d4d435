/**
 * `tsm use [NAME]`: makes the machine's Docker context (`tsm-NAME`) the docker CLI's
 * current one, so plain `docker ...` reaches it from every shell; `tsm use --unset` goes
 * back to the context that was current before (core/context-sync.ts). stdout carries the
 * context now current (as `docker context use` prints it); the sentence goes to stderr.
 */
import type { Command } from "commander";
import { UsageError } from "../../model/errors.js";
import type { Session } from "../../core/session.js";
import type { CliContext } from "../support/context.js";
import { oneTarget } from "../support/target.js";

export function registerUse(program: Command, ctx: CliContext): void {
  program
    .command("use")
    .description("Make a machine's Docker context (tsm-NAME) the docker CLI's current context")
    .argument("[name]", "machine name (default: \"default\")")
    .option("-u, --unset", "switch back to the context that was current before tsm use")
    .action(async (name: string | undefined, opts: { unset?: boolean }, command: Command) => {
      const session = ctx.session(command);
      if (opts.unset) {
        if (command.args.length > 0) throw new UsageError("tsm use --unset takes no machine name");
        const { unsetContext } = await import("../../core/context-sync.js");
        const r = await unsetContext(session);
        session.io.out(`${r.to}\n`);
        if (r.from === undefined) session.io.err(`The current Docker context "${r.to}" is not a tsm machine's: nothing to undo.\n`);
        else session.io.err(`Current Docker context is "${r.to}" again (was "${r.from}")${r.note}.\n`);
        return;
      }
      await useMachine(session, await oneTarget(session, name === undefined ? [] : command.args));
    });
}

/** Writes the machine's context, makes it current and says so (also `create --activate`). */
export async function useMachine(session: Session, name: string): Promise<void> {
  const { openMachine } = await import("../../core/open.js");
  const { machineTlsConnection } = await import("../../core/connection.js");
  const { useMachineContext } = await import("../../core/context-sync.js");
  const machine = await openMachine(session, name);
  // Checked like `tsm env`: a context with unusable certificates would only fail later.
  const { url, endpoint } = await machineTlsConnection(session, machine);
  const r = await useMachineContext(session, machine, url, endpoint.tls);
  session.io.out(`${r.context}\n`);
  session.io.err(`Current Docker context is now "${r.context}" (machine "${name}"); "tsm use --unset" goes back to "${r.previous}".\n`);
  for (const [variable, fix] of [
    ["DOCKER_HOST", 'eval "$(tsm env -u)"'],
    ["DOCKER_CONTEXT", "unset DOCKER_CONTEXT"],
  ] as const) {
    if (session.env[variable]) session.io.err(`Warning: ${variable} is set in this environment and wins over the current context: run ${fix} for docker to use "${r.context}".\n`);
  }
}
