/**
 * `tsm ssh [NAME] [SSH-OPTIONS...] [--] [COMMAND...]`: a shell on the machine, or one
 * command whose output streams back and whose exit status becomes tsm's.
 *
 * Like Docker Machine, through the system's OpenSSH `ssh` when it is on PATH: options
 * before the command go to it (`tsm ssh NAME -C -L 8080:localhost:80 -A -- uptime`), the
 * host key stays pinned (core/openssh.ts). With --native-ssh (MACHINE_NATIVE_SSH) or
 * without OpenSSH, the built-in client runs the same command (with a PTY when stdin is a
 * terminal) and ssh options are refused.
 *
 * The words after NAME are read from the command line as typed (Docker Machine hands them
 * over unparsed), not from commander's view of it, which loses where `--` was; tsm's own
 * global options there stay tsm's (long ones are skipped, short ones refused: -D and -s
 * would mean one thing to tsm and another to ssh).
 */
import type { Command, Option } from "commander";
import { RemoteExitStatus, UsageError } from "../../model/errors.js";
import { openMachine } from "../../core/open.js";
import { splitSshArguments, type TsmGlobalOptions } from "../../ssh/openssh-args.js";
import type { CliContext } from "../support/context.js";
import { oneTarget } from "../support/target.js";

/** The global option `arg` names (`-s`, `--storage-path`, `--storage-path=x`), if any. */
function globalOption(program: Command, arg: string): Option | undefined {
  return program.options.find((o) => o.short === arg || o.long === arg || (o.long !== undefined && arg.startsWith(`${o.long}=`)));
}

const takesValue = (o: Option, arg: string) => (o.required || o.optional) && !arg.includes("=");

/** The words after the verb as typed, global options before it skipped; undefined when the command line is not found in that shape. */
export function wordsAfterVerb(program: Command, typed: readonly string[], verb: string): string[] | undefined {
  for (let i = 0; i < typed.length; i++) {
    const a = typed[i]!;
    if (a === verb) return typed.slice(i + 1);
    if (!a.startsWith("-") || a === "--") return undefined;
    const o = globalOption(program, a);
    if (!o) return undefined;
    if (takesValue(o, a)) i++;
  }
  return undefined;
}

/** tsm's global options as the ssh option splitter sees them. */
function tsmGlobals(program: Command): TsmGlobalOptions {
  return {
    long: (word) => {
      const o = globalOption(program, word);
      return o === undefined ? undefined : takesValue(o, word) ? 1 : 0;
    },
    short: program.options.map((o) => o.short?.slice(1) ?? "").join(""),
  };
}

export function registerSsh(program: Command, ctx: CliContext): void {
  program
    .command("ssh")
    .description("Log into a machine, or run a command on it (OpenSSH's ssh when installed: its options go before the command)")
    .argument("[name]", "machine name (default: \"default\")")
    .argument("[command...]", "ssh options, then the command to run instead of a shell")
    // Options meant for ssh or the remote command pass through; put `--` before a command
    // whose options tsm itself knows (-D, -s, -h).
    .allowUnknownOption()
    .action(async (name: string | undefined, _words: string[], _opts: unknown, command: Command) => {
      const session = ctx.session(command);
      const typed = wordsAfterVerb(program, session.argv.slice(1), "ssh");
      const rest = typed ?? (name === undefined ? [] : [name, ...command.args.slice(1)]);
      const target = rest.length > 0 && !rest[0]!.startsWith("-") ? rest[0] : undefined;
      if (rest.length > 0 && target === undefined) throw new UsageError(`tsm ssh takes the machine name first (got ${JSON.stringify(rest[0])})`);
      const split = splitSshArguments(rest.slice(1), tsmGlobals(program));
      const sshOptions = split.sshOptions;
      const machine = await openMachine(session, await oneTarget(session, target === undefined ? [] : [target]));
      const { openSshTool, wantsNativeSsh } = await import("../../core/openssh.js");
      const sshBinary = wantsNativeSsh(session) ? undefined : await openSshTool(session, "ssh");
      if (sshBinary !== undefined) {
        const { openSshTarget, runOpenSsh } = await import("../../core/openssh.js");
        const { sshArgs } = await import("../../ssh/openssh-args.js");
        const t = await openSshTarget(session, machine);
        const status = await runOpenSsh(session, machine, t, sshBinary, sshArgs(t, sshOptions, split.command));
        if (status !== 0) throw new RemoteExitStatus(status);
        return;
      }
      if (sshOptions.length > 0) {
        throw new UsageError(
          `The ssh options ${sshOptions.join(" ")} need OpenSSH's ssh, and ${wantsNativeSsh(session) ? "the built-in client is asked for (--native-ssh, MACHINE_NATIVE_SSH)" : "it is not on PATH"}; put "--" before a command that starts with "-"`,
        );
      }
      const { connectMachine } = await import("../../core/remote.js");
      const ssh = await connectMachine(session, machine, {});
      const args = split.command;
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
