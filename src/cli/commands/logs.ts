/**
 * `tsm logs [NAME] [-n LINES] [-f]`: a VM's serial console (boot messages, cloud-init,
 * login prompt), for diagnosing a machine that does not come up. Drivers without a
 * console (generic, none) refuse with exit 7.
 */
import type { Command } from "commander";
import { ExitCode, NotSupportedError, StoppedByInterrupt, TsmError, UsageError } from "../../model/errors.js";
import { openMachine } from "../../core/open.js";
import { cleanConsole } from "../../output/console-text.js";
import type { CliContext } from "../support/context.js";
import { oneTarget } from "../support/target.js";

export function registerLogs(program: Command, ctx: CliContext): void {
  program
    .command("logs")
    .description("Show a virtual machine's serial console log")
    .argument("[name]", "machine name (default: \"default\")")
    .option("-n, --lines <count>", "show the last COUNT lines (default: all)")
    .option("-f, --follow", "keep printing new output until interrupted")
    .action(async (names: string | undefined, opts: { lines?: string; follow?: boolean }, command: Command) => {
      const session = ctx.session(command);
      const name = await oneTarget(session, names ? [names] : []);
      const machine = await openMachine(session, name);
      if (!machine.driver.consoleLogPath) throw new NotSupportedError(machine.driver.name, "logs: the machine has no console tsm can read");
      let lines: number | undefined;
      if (opts.lines !== undefined) {
        lines = Number(opts.lines);
        if (!Number.isInteger(lines) || lines < 0) throw new UsageError(`Invalid --lines ${JSON.stringify(opts.lines)}: expected a whole number`);
      }
      const file = machine.driver.consoleLogPath();
      const { open } = await import("node:fs/promises");
      let handle;
      try {
        handle = await open(file, "r");
      } catch {
        throw new TsmError("NO_CONSOLE_LOG", `"${name}" has no console log yet (${file}): it is written while the VM runs`, { exitCode: ExitCode.state });
      }
      try {
        const text = cleanConsole((await handle.readFile()).toString("utf8"));
        const all = text.split("\n");
        if (all.at(-1) === "") all.pop();
        const shown = lines === undefined ? all : lines === 0 ? [] : all.slice(-lines);
        if (shown.length > 0) session.io.out(`${shown.join("\n")}\n`);
        if (!opts.follow) return;
        let position = (await handle.stat()).size;
        for (;;) {
          // Following ends with Ctrl-C: that is no failure, but the exit status says it (130).
          if (session.signal.aborted) throw new StoppedByInterrupt();
          await new Promise((r) => setTimeout(r, 500));
          const size = (await handle.stat().catch(() => undefined))?.size ?? position;
          if (size < position) position = 0; // a new boot truncated it
          if (size > position) {
            const buf = Buffer.alloc(size - position);
            await handle.read(buf, 0, buf.length, position);
            position = size;
            session.io.out(cleanConsole(buf.toString("utf8")));
          }
        }
      } finally {
        await handle.close();
      }
    });
}
