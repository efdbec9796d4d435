/**
 * `tsm ssh [NAME] [COMMAND...]`: a shell on the machine (with a PTY when
 * stdin is a terminal), or one command whose output streams back and whose
 * exit status becomes tsm's. Everything after the name is the command.
 */
import type { Command } from "commander";
import { RemoteExitStatus, UsageError } from "../../model/errors.js";
import { openMachine } from "../../core/open.js";
import type { CliContext } from "../support/context.js";
import { oneTarget } from "../support/target.js";

export function registerSsh(program: Command, ctx: CliContext): void {
  program
    .command("ssh")
    .description("Log into a machine, or run a command on it")
    .argument("[name]", "machine name (default: \"default\")")
    .argument("[command...]", "command to run instead of a shell")
    // Options meant for the remote command pass through; put `--` before a
    // command whose options tsm itself knows (-D, -s, -h).
    .allowUnknownOption()
    .action(async (name: string | undefined, _words: string[], _opts: unknown, command: Command) => {
      const session = ctx.session(command);
      const words = command.args.slice(1);
      if (name?.startsWith("-")) throw new UsageError(`tsm ssh takes the machine name first (got ${JSON.stringify(name)})`);
      const machine = await openMachine(session, await oneTarget(session, name === undefined ? [] : [name]));
      const { connectMachine } = await import("../../core/remote.js");
      const ssh = await connectMachine(session, machine, {});
      const args = words[0] === "--" ? words.slice(1) : words;
      try {
        const status = await ssh.interactive({
          command: args.length > 0 ? args.join(" ") : undefined,
          stdin: process.stdin,
          stdout: process.stdout,
          stderr: process.stderr,
          pty: args.length === 0 ? session.io.stdinIsTTY : session.io.stdinIsTTY && session.io.stdoutIsTTY,
        });
        if (status !== 0) throw new RemoteExitStatus(status);
      } finally {
        ssh.close();
      }
    });
}
