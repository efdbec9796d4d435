/** `tsm inspect [-f TEMPLATE] [NAME]`: the machine as JSON, or one template's worth of it. */
import type { Command } from "commander";
import { openMachine } from "../../core/open.js";
import type { CliContext } from "../support/context.js";
import { oneTarget } from "../support/target.js";
import { compileTemplate } from "../support/template.js";

export function registerInspect(program: Command, ctx: CliContext): void {
  program
    .command("inspect")
    .description("Print a machine's details as JSON")
    .argument("[name]", "machine name (default: \"default\")")
    .option("-f, --format <template>", "Go template, e.g. '{{.Driver.IPAddress}}' (see docs/templates.md)")
    .action(async (name: string | undefined, opts: { format?: string }, command: Command) => {
      const session = ctx.session(command);
      const template = opts.format === undefined ? undefined : compileTemplate(opts.format);
      const machine = await openMachine(session, await oneTarget(session, name === undefined ? [] : command.args));
      const { inspectView } = await import("../../core/inspect-view.js");
      const view = await inspectView(machine, session.store.paths, session);
      session.io.out(template ? `${template.render(view)}\n` : `${JSON.stringify(view, null, 4)}\n`);
    });
}
